// The openclaw image's entry point (its CMD): write OpenClaw's config into its state
// directory, run `openclaw agent exec` on the task, write its final message to
// .airlock/summary.md and exit with a code the runner tells apart.
// The run itself (stdin, signals, summary, exit codes) is the base image's agent kit; this
// file holds only what is OpenClaw's own.
import { readFile } from "node:fs/promises";
import { readResumeMessage } from "../../base/agent-kit/read-resume-message.ts";
import { runCliWrapper } from "../../base/agent-kit/run-cli-wrapper.ts";
import { sandboxNote } from "../../base/agent-kit/sandbox-note.ts";
import { buildOpenclawEnvironment } from "./build-openclaw-environment.ts";
import { readOpenclawResult } from "./read-openclaw-result.ts";
import { readWrapperConfig } from "./read-wrapper-config.ts";
import { writeOpenclawConfig } from "./write-openclaw-config.ts";

const openclawLauncher = "/opt/openclaw/node_modules/openclaw/openclaw.mjs";

runCliWrapper({
  logName: "airlock-openclaw",
  title: "OpenClaw",
  exitName: "openclaw",
  readConfig: () => readWrapperConfig(),
  async readPrompt(config) {
    const task = (await readFile(config.taskPath, "utf8")).trim();
    // `agent exec` runs one isolated turn and cannot continue an earlier one: a resumed run
    // is a new turn in the same state directory, told the task again and what was decided.
    const prompt =
      config.resumePath !== undefined
        ? `${task}\n\n## Resumed after a capability decision\n\n${await readResumeMessage(config.resumePath)}`
        : task;
    // An empty task is refused even with a resume note.
    return task === "" ? "" : prompt;
  },
  async prepare(config, prompt) {
    const configPath = await writeOpenclawConfig(config);
    return {
      command: process.execPath,
      args: [
        openclawLauncher,
        "agent",
        "exec",
        // The prompt is read from stdin.
        "--message-file",
        "-",
        "--cwd",
        config.workspace,
        "--config",
        configPath,
        "--state-dir",
        config.configDir,
        "--model",
        `airlock/${config.model}`,
        "--json",
        "--timeout",
        String(config.timeoutS),
      ],
      env: buildOpenclawEnvironment(config, process.env),
      // Before the task: where it is, and what happens to its work.
      stdin: `${sandboxNote}\n\n${prompt}`,
      startNote:
        `${config.resumePath !== undefined ? "a new turn after the decision" : "starting"}: model ${config.model}, ` +
        `state in ${config.configDir}`,
    };
  },
  readOutcome: (events, exitCode) => readOpenclawResult(events, exitCode),
});
