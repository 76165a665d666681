// The agent kit: what every CLI agent wrapper (claude-code, codex, openclaw) shares. Each
// image's build context is its own folder, so the kit lives in the base image, which
// copies this folder to /opt/base/agent-kit/. The wrappers sit at /opt/airlock-agent/agent/
// and import it as ../../base/agent-kit/…, the same relative path that leads from
// agent-images/<agent>/agent/ to agent-images/base/agent-kit/ here: one specifier that
// node resolves in the image and tsc checks in the repository.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import type { CommonConfig } from "./read-common-config.ts";
import { readResumeMessage } from "./read-resume-message.ts";
import { WrapperConfigError } from "./wrapper-config-error.ts";

/** What a wrapper ends with: its exit code, the summary for the pull request, a log note. */
export interface CliOutcome {
  exitCode: number;
  summary: string;
  note: string;
}

/** How to start the CLI, once its config files are written. */
export interface CliInvocation {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Goes on stdin: an issue's text can be longer than one argument may be. */
  stdin: string;
  /** Logged before the start: what the run is (new or resumed), model, settings. */
  startNote: string;
}

/** What is the CLI's own; the rest of a wrapper's run is the same for every CLI. */
export interface CliWrapper<Config extends CommonConfig> {
  /** Every log line's prefix, e.g. `airlock-codex`. */
  logName: string;
  /** The CLI as the summary names it, e.g. `Codex`. */
  title: string;
  /** The CLI as the log names its exit code, e.g. `codex`. */
  exitName: string;
  /** Throws WrapperConfigError for a missing or bad setting. */
  readConfig(): Config;
  /** The prompt; by default the task, or on resume the resume note alone. "" is refused. */
  readPrompt?(config: Config): Promise<string>;
  /** Writes the CLI's config files and says how to run it. */
  prepare(config: Config, prompt: string): Promise<CliInvocation>;
  /** Reads the CLI's result from its captured stdout and exit code. */
  readOutcome(stdout: string, exitCode: number | null, config: Config): Promise<CliOutcome> | CliOutcome;
}

const maxStdoutBytes = 16 * 1024 * 1024;
const exitCodes = { crashed: 1, setup: 5, terminated: 143 };

/**
 * A CLI wrapper's whole run, as the image's command: read the settings and the prompt
 * (either missing → exit 5), run the CLI, write its summary to .airlock/summary.md and
 * stdout, and set the exit code the runner tells apart (143 when stopped, 1 on a crash).
 */
export function runCliWrapper<Config extends CommonConfig>(wrapper: CliWrapper<Config>): void {
  const log = (line: string): void => {
    process.stderr.write(`${wrapper.logName}: ${line}\n`);
  };
  runWrapper(wrapper, log).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      log(`crashed: ${(error as Error)?.stack ?? String(error)}`);
      process.exitCode = exitCodes.crashed;
    },
  );
}

async function runWrapper<Config extends CommonConfig>(
  wrapper: CliWrapper<Config>,
  log: (line: string) => void,
): Promise<number> {
  let config: Config;
  try {
    config = wrapper.readConfig();
  } catch (error) {
    if (error instanceof WrapperConfigError) {
      log(error.message);
      return exitCodes.setup;
    }
    throw error;
  }
  let prompt: string;
  try {
    prompt = await (wrapper.readPrompt ?? readTaskOrResumeMessage)(config);
  } catch (error) {
    log(`${(error as Error).message}; the runner writes it before starting the agent`);
    return exitCodes.setup;
  }
  if (prompt === "") {
    log(`the task at ${config.taskPath} is empty`);
    return exitCodes.setup;
  }
  const invocation = await wrapper.prepare(config, prompt);
  log(invocation.startNote);
  const child = spawn(invocation.command, invocation.args, {
    cwd: config.workspace,
    env: invocation.env,
    stdio: ["pipe", "pipe", "inherit"],
  });
  child.stdin.end(invocation.stdin);
  let stdout = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    if (stdout.length < maxStdoutBytes) stdout += chunk;
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

  const outcome: CliOutcome = terminated
    ? {
        exitCode: exitCodes.terminated,
        summary: `${wrapper.title} stopped before finishing: it was stopped (SIGTERM: the run's deadline passed or it was cancelled).`,
        note: "stopped by SIGTERM",
      }
    : await wrapper.readOutcome(stdout, exitCode, config);
  log(`${outcome.note} (${wrapper.exitName} exit ${String(exitCode)}, wrapper exit ${outcome.exitCode})`);
  await writeFile(config.summaryPath, `${outcome.summary}\n`);
  process.stdout.write(`${outcome.summary}\n`);
  return outcome.exitCode;
}

async function readTaskOrResumeMessage(config: CommonConfig): Promise<string> {
  return config.resumePath !== undefined
    ? await readResumeMessage(config.resumePath)
    : (await readFile(config.taskPath, "utf8")).trim();
}
