// The codex image's entry point (its CMD): write Codex's config.toml into CODEX_HOME, run
// `codex exec` on the task (or `codex exec resume --last` on resume), write its last
// message to .airlock/summary.md and exit with a code the runner tells apart.
import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { buildCodexEnvironment } from "./build-codex-environment.ts";
import { readCodexResult, type CodexOutcome } from "./read-codex-result.ts";
import { readResumeMessage } from "./read-resume-message.ts";
import { readWrapperConfig, WrapperConfigError } from "./read-wrapper-config.ts";
import { writeCodexConfig } from "./write-codex-config.ts";

const codexLauncher = "/opt/codex/node_modules/@openai/codex/bin/codex.js";
/** In /tmp (the agent's tmpfs): Codex writes it as the agent's user. */
const lastMessagePath = "/tmp/airlock-codex-last-message.txt";
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
  process.stderr.write(`airlock-codex: ${line}\n`);
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
  let prompt: string;
  try {
    prompt =
      config.resumePath !== undefined
        ? await readResumeMessage(config.resumePath)
        : (await readFile(config.taskPath, "utf8")).trim();
  } catch (error) {
    log(`${(error as Error).message}; the runner writes it before starting the agent`);
    return exitCodes.setup;
  }
  if (prompt === "") {
    log(`the task at ${config.taskPath} is empty`);
    return exitCodes.setup;
  }
  await writeCodexConfig(config);
  await rm(lastMessagePath, { force: true });

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
  const args = resuming
    ? ["exec", "resume", "--last", ...common, "-"]
    : ["exec", ...common, "--cd", config.workspace, "-"];
  log(
    `${resuming ? "continuing its session" : "starting"}: model ${config.model}, ` +
      `${config.maxRetries} retries, CODEX_HOME ${config.configDir}`,
  );
  const child = spawn(process.execPath, [codexLauncher, ...args], {
    cwd: config.workspace,
    env: buildCodexEnvironment(config, process.env),
    stdio: ["pipe", "pipe", "inherit"],
  });
  // The prompt goes on stdin ("-"): an issue's text can be longer than one argument may be.
  child.stdin.end(resuming ? prompt : `${sandboxNote}\n\n${prompt}`);
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

  const lastMessage = await readFile(lastMessagePath, "utf8").catch(() => undefined);
  const outcome: CodexOutcome = terminated
    ? {
        exitCode: exitCodes.terminated,
        summary:
          "Codex stopped before finishing: it was stopped (SIGTERM: the run's deadline passed or it was cancelled).",
        note: "stopped by SIGTERM",
      }
    : readCodexResult(events, lastMessage, exitCode);
  log(`${outcome.note} (codex exit ${String(exitCode)}, wrapper exit ${outcome.exitCode})`);
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
