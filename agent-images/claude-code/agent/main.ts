// The claude-code image's entry point (its CMD): write Claude Code's settings into the
// agent's home, run it headless on the task (or continue its session on resume), write
// its final message to .airlock/summary.md and exit with a code the runner tells apart.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { buildClaudeEnvironment } from "./build-claude-environment.ts";
import { readClaudeResult, type ClaudeOutcome } from "./read-claude-result.ts";
import { readResumeMessage } from "./read-resume-message.ts";
import { readWrapperConfig, WrapperConfigError } from "./read-wrapper-config.ts";
import { writeClaudeSettings } from "./write-claude-settings.ts";

const claudeBinary = "/opt/claude-code/bin/claude.exe";
const maxStdoutBytes = 16 * 1024 * 1024;
const exitCodes = { crashed: 1, setup: 5, terminated: 143 };

/** Told to the model on every run: where it is, and what happens to its work. */
const sandboxNote =
  "You run inside Airlock's sealed sandbox: no network except the LLM endpoint, no sudo. " +
  "Work in /workspace and leave your changes as files there; Airlock's host commits and " +
  "pushes them, so do not run git commit or git push. If you need a package, tool or network " +
  'domain the sandbox lacks, ask with `airlock-request <kind>:<name> "<why>"` in the shell ' +
  "(kinds: apt, npm, pip, network, llm-tool), then finish your turn: the run pauses until a " +
  "maintainer decides and resumes this session with the answer. End with a short summary of " +
  "what you changed; it becomes the pull request's description.";

function log(line: string): void {
  process.stderr.write(`airlock-claude-code: ${line}\n`);
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
  await writeClaudeSettings(config);

  const args = [
    ...(config.resumePath !== undefined ? ["--continue"] : []),
    "--print",
    "--output-format",
    "json",
    "--dangerously-skip-permissions",
    "--model",
    config.model,
    "--max-turns",
    String(config.maxTurns),
    // Only Airlock's settings: a repository's .claude/settings.json may not change the
    // model, the permissions or the hooks, and no MCP server is started.
    "--setting-sources",
    "user",
    "--strict-mcp-config",
    "--no-chrome",
    // Both would only fail here (no network), and WebSearch is a provider-side tool the
    // proxy refuses without an llm-tool grant: the model is not offered them.
    "--disallowed-tools",
    "WebFetch,WebSearch",
    "--append-system-prompt",
    sandboxNote,
  ];
  log(
    `${config.resumePath !== undefined ? "continuing its session" : "starting"}: model ${config.model}, ` +
      `at most ${config.maxTurns} turns, ${config.maxRetries} retries, config in ${config.configDir}`,
  );
  const child = spawn(claudeBinary, args, {
    cwd: config.workspace,
    env: buildClaudeEnvironment(config, process.env),
    stdio: ["pipe", "pipe", "inherit"],
  });
  // The prompt goes on stdin: an issue's text can be longer than one argument may be.
  child.stdin.end(prompt);
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

  const outcome: ClaudeOutcome = terminated
    ? {
        exitCode: exitCodes.terminated,
        summary:
          "Claude Code stopped before finishing: it was stopped (SIGTERM: the run's deadline passed or it was cancelled).",
        note: "stopped by SIGTERM",
      }
    : readClaudeResult(stdout, exitCode);
  log(`${outcome.note} (claude exit ${String(exitCode)}, wrapper exit ${outcome.exitCode})`);
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
