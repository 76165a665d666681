// The codex image's entry point (its CMD): write Codex's config.toml into CODEX_HOME, run
// `codex exec` on the task (or `codex exec resume --last` on resume), write its last
// message to .airlock/summary.md and exit with a code the runner tells apart.
// The run itself (prompt, stdin, signals, summary, exit codes) is the base image's agent
// kit; this file holds only what is Codex's own.
import { readFile, rm } from "node:fs/promises";
import { runCliWrapper } from "../../base/agent-kit/run-cli-wrapper.ts";
import { sandboxNote } from "../../base/agent-kit/sandbox-note.ts";
import { buildCodexEnvironment } from "./build-codex-environment.ts";
import { readCodexResult } from "./read-codex-result.ts";
import { readWrapperConfig } from "./read-wrapper-config.ts";
import { writeCodexConfig } from "./write-codex-config.ts";

const codexLauncher = "/opt/codex/node_modules/@openai/codex/bin/codex.js";
/** In /tmp (the agent's tmpfs): Codex writes it as the agent's user. */
const lastMessagePath = "/tmp/airlock-codex-last-message.txt";

runCliWrapper({
  logName: "airlock-codex",
  title: "Codex",
  exitName: "codex",
  readConfig: () => readWrapperConfig(),
  async prepare(config, prompt) {
    await writeCodexConfig(config);
    await rm(lastMessagePath, { force: true });
    const resuming = config.resumePath !== undefined;
    const common = [
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
      // An unknown key in the config.toml above is an error, not a silently ignored switch.
      "--strict-config",
      "--json",
      "--output-last-message",
      lastMessagePath,
      "--model",
      config.model,
    ];
    return {
      command: process.execPath,
      // The prompt is read from stdin ("-").
      args: [
        codexLauncher,
        ...(resuming
          ? ["exec", "resume", "--last", ...common, "-"]
          : ["exec", ...common, "--cd", config.workspace, "-"]),
      ],
      env: buildCodexEnvironment(config, process.env),
      // The sandbox note comes before the task; a resumed session has it already.
      stdin: resuming ? prompt : `${sandboxNote}\n\n${prompt}`,
      startNote:
        `${resuming ? "continuing its session" : "starting"}: model ${config.model}, ` +
        `${config.maxRetries} retries, CODEX_HOME ${config.configDir}`,
    };
  },
  async readOutcome(events, exitCode) {
    const lastMessage = await readFile(lastMessagePath, "utf8").catch(() => undefined);
    return readCodexResult(events, lastMessage, exitCode);
  },
});
