import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type OpenAI from "openai";
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import { agentExitCodes, classifyLlmError } from "./classify-llm-error.ts";
import { describeToolCall, executeToolCall, type ToolContext } from "./execute-tool-call.ts";
import { saveConversation, type SavedConversation } from "./conversation-store.ts";
import { buildSystemPrompt } from "./system-prompt.ts";
import { toolDefinitions } from "./tool-definitions.ts";

export interface RunAgentOptions {
  client: Pick<OpenAI, "chat">;
  model: string;
  task: string;
  maxSteps: number;
  /** Extra tries for a rate limit, a server fault or a lost connection (not for a spent budget). */
  llmRetries: number;
  retryBaseDelayMs: number;
  tools: ToolContext;
  /** One line per step; never given the key. */
  log: (line: string) => void;
  /** Aborted on SIGTERM (the run's deadline, a cancel): the agent stops and explains. */
  signal?: AbortSignal;
  /** Where the conversation is saved after every step (AIRLOCK_STATE_DIR), so a paused run can resume it. */
  conversationPath?: string | undefined;
  /** A resumed run (AIRLOCK_RESUME): the saved conversation and the host's note of the decisions. */
  resume?: { saved: SavedConversation; message: string } | undefined;
}

export type AgentOutcome = "finished" | "max_steps" | "budget_exhausted" | "api_error" | "stopped";

export interface AgentResult {
  outcome: AgentOutcome;
  exitCode: number;
  steps: number;
  /** What was written to .airlock/summary.md. */
  summary: string;
  /** Workspace paths written or edited successfully, in order of first change. */
  changedFiles: string[];
}

/**
 * The agent's loop: one chat completion per step, every tool call answered with a tool
 * message, until `finish`, the step limit, or an LLM error that retrying cannot fix.
 * Whatever the outcome, `.airlock/summary.md` says what happened, so the relay and the
 * audit summary can explain a partial result.
 */
export async function runAgent(options: RunAgentOptions): Promise<AgentResult> {
  const { log } = options;
  const messages: ChatCompletionMessageParam[] = options.resume
    ? [...options.resume.saved.messages, { role: "user", content: options.resume.message }]
    : [
        { role: "system", content: buildSystemPrompt(options.tools.workspaceRoot) },
        { role: "user", content: options.task },
      ];
  const changed = new Set<string>(options.resume?.saved.changedFiles ?? []);
  const save = async (step: number) => {
    if (options.conversationPath === undefined) return;
    await saveConversation(options.conversationPath, {
      version: 1,
      messages,
      changedFiles: [...changed],
      steps: (options.resume?.saved.steps ?? 0) + step,
    }).catch((error: unknown) => log(`could not save the conversation: ${(error as Error).message}`));
  };
  let textOnlyReplies = 0;

  const stopped = (steps: number) =>
    endEarly(
      options,
      "stopped",
      steps,
      changed,
      "it was stopped (SIGTERM: the run's deadline passed or it was cancelled)",
    );

  for (let step = 1; step <= options.maxSteps; step++) {
    if (options.signal?.aborted) return stopped(step - 1);
    let completion: ChatCompletion;
    try {
      completion = await createWithRetries(options, {
        model: options.model,
        messages,
        tools: toolDefinitions,
        tool_choice: "auto",
      });
    } catch (error) {
      if (options.signal?.aborted) return stopped(step - 1);
      const problem = classifyLlmError(error);
      log(`step ${step}/${options.maxSteps}: ${problem.message}`);
      const outcome: AgentOutcome = problem.budgetExhausted ? "budget_exhausted" : "api_error";
      const reason = problem.budgetExhausted
        ? `the run's LLM budget is exhausted (${problem.message})`
        : `the LLM endpoint refused the call (${problem.message})`;
      return endEarly(options, outcome, step - 1, changed, reason);
    }

    const message = completion.choices[0]?.message;
    if (!message) {
      log(`step ${step}/${options.maxSteps}: the LLM answered without a choice`);
      return endEarly(options, "api_error", step, changed, "the LLM endpoint answered without any choice");
    }
    // Some local servers leave tool call ids empty; every tool message must name one.
    const calls = (message.tool_calls ?? [])
      .filter((c) => c.type === "function")
      .map((c, i) => (c.id ? c : { ...c, id: `call_${step}_${i}` }));
    if (calls.length === 0) {
      textOnlyReplies += 1;
      const text = (message.content ?? "").trim();
      log(`step ${step}/${options.maxSteps}: text reply (${text.length} chars), no tool call`);
      // Some local models answer in prose when done. Once reminded, a second prose
      // answer is taken as the summary rather than spending the rest of the steps.
      if (textOnlyReplies >= 2 && text !== "") return finish(options, step, changed, text);
      messages.push({ role: "assistant", content: message.content ?? "" });
      messages.push({
        role: "user",
        content: "Continue with the tools. When the task is done, call finish with a summary.",
      });
      continue;
    }
    textOnlyReplies = 0;
    log(
      `step ${step}/${options.maxSteps}: ${calls.map((c) => describeToolCall(c.function.name, c.function.arguments)).join("; ")}`,
    );
    // Echo only the fields every OpenAI-compatible server accepts back.
    messages.push({
      role: "assistant",
      content: message.content ?? null,
      tool_calls: calls.map((c) => ({
        id: c.id,
        type: "function" as const,
        function: { name: c.function.name, arguments: c.function.arguments },
      })),
    });
    for (const call of calls) {
      const outcome = await executeToolCall(options.tools, call.function.name, call.function.arguments);
      if (outcome.kind === "finish") {
        // Every call answered, like any tool call, so a resumed conversation is well formed.
        for (const c of calls.slice(calls.indexOf(call))) {
          const content =
            c === call ? "finished; the summary was recorded" : "not run: finish was called first";
          messages.push({ role: "tool", tool_call_id: c.id, content });
        }
        await save(step);
        return finish(options, step, changed, outcome.summary);
      }
      if (outcome.ok && outcome.changed !== undefined) changed.add(outcome.changed);
      if (!outcome.ok)
        log(`step ${step}/${options.maxSteps}: ${call.function.name} ${firstLine(outcome.text)}`);
      messages.push({ role: "tool", tool_call_id: call.id, content: outcome.text });
    }
    await save(step);
    if (options.signal?.aborted) return stopped(step);
  }
  log(`stopped: reached the step limit (${options.maxSteps}) without finish`);
  return endEarly(
    options,
    "max_steps",
    options.maxSteps,
    changed,
    `it reached its step limit (${options.maxSteps} LLM calls, AIRLOCK_MAX_STEPS) without calling finish`,
  );
}

async function createWithRetries(
  options: RunAgentOptions,
  params: ChatCompletionCreateParamsNonStreaming,
): Promise<ChatCompletion> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await options.client.chat.completions.create(params, { signal: options.signal ?? null });
    } catch (error) {
      const problem = classifyLlmError(error);
      if (!problem.retryable || attempt >= options.llmRetries) throw error;
      const delayMs = Math.min(
        30_000,
        problem.retryAfterS !== undefined
          ? problem.retryAfterS * 1000
          : options.retryBaseDelayMs * 2 ** attempt,
      );
      options.log(`LLM call failed, retrying in ${(delayMs / 1000).toFixed(1)} s: ${problem.message}`);
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => {});
      if (options.signal?.aborted) throw error;
    }
  }
}

async function finish(
  options: RunAgentOptions,
  steps: number,
  changed: Set<string>,
  summary: string,
): Promise<AgentResult> {
  await writeSummary(options.tools.workspaceRoot, summary);
  return {
    outcome: "finished",
    exitCode: agentExitCodes.finished,
    steps,
    summary,
    changedFiles: [...changed],
  };
}

async function endEarly(
  options: RunAgentOptions,
  outcome: Exclude<AgentOutcome, "finished">,
  steps: number,
  changed: Set<string>,
  reason: string,
): Promise<AgentResult> {
  const files = [...changed];
  const summary = [
    `The builtin agent stopped before finishing: ${reason}.`,
    "",
    `Steps taken: ${steps}.`,
    files.length > 0
      ? `Files it changed so far (a partial result):\n${files.map((f) => `- ${f}`).join("\n")}`
      : "It had not changed any file.",
  ].join("\n");
  await writeSummary(options.tools.workspaceRoot, summary).catch(() => {});
  const exitCode = {
    max_steps: agentExitCodes.maxSteps,
    budget_exhausted: agentExitCodes.budgetExhausted,
    api_error: agentExitCodes.apiError,
    stopped: agentExitCodes.stopped,
  }[outcome];
  return { outcome, exitCode, steps, summary, changedFiles: files };
}

async function writeSummary(workspaceRoot: string, summary: string): Promise<void> {
  const dir = join(workspaceRoot, ".airlock");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "summary.md"), summary.endsWith("\n") ? summary : `${summary}\n`);
}

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
