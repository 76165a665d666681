/** What the wrapper makes of Claude Code's run: its exit code for Airlock and the summary. */
export interface ClaudeOutcome {
  /** 0 finished, 2 the LLM endpoint refused, 3 budget, 4 turn limit, 1 anything else. */
  exitCode: number;
  summary: string;
  /** One line for the log. */
  note: string;
}

interface ClaudeResult {
  subtype?: unknown;
  is_error?: unknown;
  result?: unknown;
  num_turns?: unknown;
  api_error_status?: unknown;
  terminal_reason?: unknown;
}

/**
 * Reads the last JSON object Claude Code printed with `--output-format json` (a `result`
 * object) and maps it onto the exit codes the catalog gives the runner. The result is
 * the model's final message on success, or the API error Claude Code gave up on.
 */
export function readClaudeResult(stdout: string, exitCode: number | null): ClaudeOutcome {
  const result = lastResultObject(stdout);
  if (result === undefined) {
    return {
      exitCode: 1,
      summary:
        `Claude Code stopped without a result (exit ${String(exitCode)}); ` +
        "see the agent's log for what it printed.",
      note: `no result object (exit ${String(exitCode)})`,
    };
  }
  const text = typeof result.result === "string" ? result.result.trim() : "";
  const turns = typeof result.num_turns === "number" ? result.num_turns : 0;
  const status = typeof result.api_error_status === "number" ? result.api_error_status : undefined;
  const note = `subtype ${String(result.subtype)}, ${turns} turns${status ? `, API status ${status}` : ""}`;
  if (result.is_error !== true && result.subtype === "success" && exitCode === 0) {
    return { exitCode: 0, summary: text || "Claude Code finished without a final message.", note };
  }
  if (result.subtype === "error_max_turns") {
    return {
      exitCode: 4,
      summary: `Claude Code stopped before finishing: it reached its turn limit (${turns} turns, AIRLOCK_MAX_STEPS).`,
      note,
    };
  }
  // The proxy answers a spent budget with 429 `budget_exceeded`; a provider's own quota
  // error says insufficient_quota. Other 429s were retried by Claude Code and still failed.
  if (status === 429 && /budget_exceeded|budget|insufficient_quota/i.test(text)) {
    return {
      exitCode: 3,
      summary: `Claude Code stopped before finishing: the run's LLM budget is exhausted (${clip(text)}).`,
      note,
    };
  }
  if (status !== undefined) {
    return {
      exitCode: 2,
      summary: `Claude Code stopped before finishing: the LLM endpoint refused a call (${clip(text)}).`,
      note,
    };
  }
  return {
    exitCode: 1,
    summary: `Claude Code stopped before finishing (${String(result.subtype)}): ${clip(text) || "no message"}.`,
    note,
  };
}

function lastResultObject(stdout: string): ClaudeResult | undefined {
  const lines = stdout.trim().split("\n").reverse();
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) continue;
    try {
      const value = JSON.parse(trimmed) as unknown;
      if (typeof value === "object" && value !== null && (value as { type?: unknown }).type === "result")
        return value as ClaudeResult;
    } catch {
      // Not the result line; keep looking.
    }
  }
  return undefined;
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
