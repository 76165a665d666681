// The openclaw image's entry point (its CMD): write OpenClaw's config into its state
// directory, run `openclaw agent exec` on the task, write its final message to
// .airlock/summary.md and exit with a code the runner tells apart.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { buildOpenclawEnvironment } from "./build-openclaw-environment.ts";
import { readOpenclawResult, type OpenclawOutcome } from "./read-openclaw-result.ts";
import { readResumeMessage } from "./read-resume-message.ts";
import { readWrapperConfig, WrapperConfigError } from "./read-wrapper-config.ts";
import { writeOpenclawConfig } from "./write-openclaw-config.ts";

const openclawLauncher = "/opt/openclaw/node_modules/openclaw/openclaw.mjs";
const maxStdoutBytes = 16 * 1024 * 1024;
const exitCodes = { crashed: 1, setup: 5, terminated: 143 };

/** Told to the model before the task: where it is, and what happens to its work. */
const sandboxNote =
  "You run inside Airlock's sealed sandbox: no network except the LLM endpoint, no sudo. " +
  "Work in /workspace and leave your changes as files there; Airlock's host commits and " +
  "pushes them, so do not run git commit or git push. If you need a package, tool or network " +
  'domain the sandbox lacks, ask with `airlock-request <kind>:<name> "<why>"` in the shell ' +
  "(kinds: apt, npm, pip, network, llm-tool), then finish your turn: the run pauses until a " +
  "maintainer decides and resumes this session with the answer. End with a short summary of " +
  "what you changed; it becomes the pull request's description.";

function log(line: string): void {
  process.stderr.write(`airlock-openclaw: ${line}\n`);
}

async function main(): Promise<number> {
  let config;
  try {
    config = readWrapperConfig();
  } catch (error) {
    if (error instanceof WrapperConfigError) {
      log(error.message);
      return exitCodes.setup;
    }
    throw error;
  }
  const resuming = config.resumePath !== undefined;
  let task: string;
  let prompt: string;
  try {
    task = (await readFile(config.taskPath, "utf8")).trim();
    // `agent exec` runs one isolated turn and cannot continue an earlier one: a resumed run
    // is a new turn in the same state directory, told the task again and what was decided.
    prompt =
      config.resumePath !== undefined
        ? `${task}\n\n## Resumed after a capability decision\n\n${await readResumeMessage(config.resumePath)}`
        : task;
  } catch (error) {
    log(`${(error as Error).message}; the runner writes it before starting the agent`);
    return exitCodes.setup;
  }
  if (task === "") {
    log(`the task at ${config.taskPath} is empty`);
    return exitCodes.setup;
  }
  const configPath = await writeOpenclawConfig(config);

  const args = [
    "agent",
    "exec",
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
  ];
  log(
    `${resuming ? "a new turn after the decision" : "starting"}: model ${config.model}, ` +
      `state in ${config.configDir}`,
  );
  const child = spawn(process.execPath, [openclawLauncher, ...args], {
    cwd: config.workspace,
    env: buildOpenclawEnvironment(config, process.env),
    stdio: ["pipe", "pipe", "inherit"],
  });
  // The prompt goes on stdin ("-"): an issue's text can be longer than one argument may be.
  child.stdin.end(`${sandboxNote}\n\n${prompt}`);
  let events = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    if (events.length < maxStdoutBytes) events += chunk;
  });
  // tini forwards the sandbox's SIGTERM (deadline, cancel) here: pass it on, then say so.
  let terminated = false;
  const forward = (signal: NodeJS.Signals) => {
    terminated = true;
    child.kill(signal);
  };
  process.once("SIGTERM", forward);
  process.once("SIGINT", forward);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });

  const outcome: OpenclawOutcome = terminated
    ? {
        exitCode: exitCodes.terminated,
        summary:
          "OpenClaw stopped before finishing: it was stopped (SIGTERM: the run's deadline passed or it was cancelled).",
        note: "stopped by SIGTERM",
      }
    : readOpenclawResult(events, exitCode);
  log(`${outcome.note} (openclaw exit ${String(exitCode)}, wrapper exit ${outcome.exitCode})`);
  await writeFile(config.summaryPath, `${outcome.summary}\n`);
  process.stdout.write(`${outcome.summary}\n`);
  return outcome.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`crashed: ${(error as Error)?.stack ?? String(error)}`);
    process.exitCode = exitCodes.crashed;
  },
);
