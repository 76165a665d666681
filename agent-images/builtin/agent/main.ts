// The builtin agent's entry point (the image's CMD): read the settings and the task,
// run the loop, print the summary, and exit with a code the runner can tell apart.
import { readFile } from "node:fs/promises";
import OpenAI from "openai";
import { agentExitCodes } from "./classify-llm-error.ts";
import { AgentConfigError, readAgentConfig } from "./read-agent-config.ts";
import { runAgent } from "./run-agent.ts";
import {
  conversationPath,
  loadConversation,
  readResumeMessage,
  type SavedConversation,
} from "./conversation-store.ts";

function log(line: string): void {
  process.stderr.write(`airlock-agent: ${line}\n`);
}

async function main(): Promise<number> {
  let config;
  try {
    config = readAgentConfig();
  } catch (error) {
    if (error instanceof AgentConfigError) {
      log(error.message);
      return agentExitCodes.setup;
    }
    throw error;
  }
  let task: string;
  try {
    task = (await readFile(config.taskPath, "utf8")).trim();
  } catch (error) {
    log(
      `cannot read the task at ${config.taskPath} (${(error as NodeJS.ErrnoException).code ?? "error"}); the runner writes it before starting the agent`,
    );
    return agentExitCodes.setup;
  }
  if (task === "") {
    log(`the task at ${config.taskPath} is empty`);
    return agentExitCodes.setup;
  }
  log(`model ${config.model}, at most ${config.maxSteps} steps, endpoint ${new URL(config.baseUrl).origin}`);
  const client = new OpenAI({
    baseURL: config.baseUrl,
    apiKey: config.apiKey,
    // Retries are the loop's own, so a spent budget (429) is not retried by the SDK.
    maxRetries: 0,
    timeout: config.llmTimeoutS * 1000,
  });
  // tini forwards the sandbox's SIGTERM (deadline, cancel) here: stop, and say so in the summary.
  const stop = new AbortController();
  process.once("SIGTERM", () => stop.abort());
  process.once("SIGINT", () => stop.abort());
  // A run paused for a capability decision resumes here with its conversation (issue 10 §6).
  const stateDir = process.env.AIRLOCK_STATE_DIR;
  const savedAt = stateDir ? conversationPath(stateDir) : undefined;
  let resume: { saved: SavedConversation; message: string } | undefined;
  if (stateDir && savedAt && process.env.AIRLOCK_RESUME === "1") {
    const saved = await loadConversation(savedAt);
    const message = await readResumeMessage(stateDir);
    if (saved && message) {
      resume = { saved, message };
      log(`resuming the conversation (${saved.messages.length} messages, ${saved.steps} steps so far)`);
    } else {
      log(
        "AIRLOCK_RESUME is set but no saved conversation or resume note was found: starting the task afresh",
      );
    }
  }
  const result = await runAgent({
    conversationPath: savedAt,
    resume,
    client,
    model: config.model,
    task,
    maxSteps: config.maxSteps,
    llmRetries: config.llmRetries,
    retryBaseDelayMs: 1000,
    tools: {
      workspaceRoot: config.workspaceRoot,
      bridgeUrl: config.bridgeUrl,
      apiKey: config.apiKey,
      runCommandLimits: config.runCommandLimits,
      signal: stop.signal,
    },
    log,
    signal: stop.signal,
  });
  log(`${result.outcome} after ${result.steps} steps (exit ${result.exitCode})`);
  process.stdout.write(result.summary.endsWith("\n") ? result.summary : `${result.summary}\n`);
  return result.exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`crashed: ${(error as Error)?.stack ?? String(error)}`);
    process.exitCode = agentExitCodes.crashed;
  },
);
