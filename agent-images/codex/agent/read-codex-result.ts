/** What the wrapper makes of Codex's run: its exit code for Airlock and the summary. */
export interface CodexOutcome {
  /** 0 finished, 2 the LLM endpoint refused, 3 budget, 1 anything else. */
  exitCode: number;
  summary: string;
  /** One line for the log. */
  note: string;
}

/**
 * Reads `codex exec --json`'s events (one JSON object a line) and its last message (`-o`),
 * and maps them onto the exit codes the catalog gives the runner: `turn.completed` is a
 * finished turn; `turn.failed` / `error` carry the API error Codex gave up on.
 */
export function readCodexResult(
  events: string,
  lastMessage: string | undefined,
  exitCode: number | null,
): CodexOutcome {
  let completed = false;
  let turns = 0;
  let failure: string | undefined;
  for (const line of events.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    let event: { type?: unknown; message?: unknown; error?: { message?: unknown } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      continue;
    }
    if (event.type === "turn.completed") {
      completed = true;
      turns += 1;
    } else if (event.type === "turn.failed") {
      failure = typeof event.error?.message === "string" ? event.error.message : "the turn failed";
    } else if (event.type === "error" && typeof event.message === "string") {
      failure = event.message;
    }
  }
  const message = lastMessage?.trim() ?? "";
  const note = `${turns} turn(s) completed${failure ? `, last error: ${clip(failure, 160)}` : ""}`;
  if (exitCode === 0 && completed && failure === undefined) {
    return { exitCode: 0, summary: message || "Codex finished without a final message.", note };
  }
  const why = clip(failure ?? `exit ${String(exitCode)}`, 500).replace(/\.+$/, "");
  // The proxy answers a spent budget with 429 `budget_exceeded` (code insufficient_quota in
  // OpenAI's shape), which Codex reports as "Quota exceeded".
  if (/budget_exceeded|budget|insufficient_quota|quota exceeded/i.test(why)) {
    return {
      exitCode: 3,
      summary: `Codex stopped before finishing: the run's LLM budget is exhausted (${why}).`,
      note,
    };
  }
  if (/\b(401|403|400|404|429|5\d\d)\b|unauthorized|forbidden|status/i.test(why)) {
    return {
      exitCode: 2,
      summary: `Codex stopped before finishing: the LLM endpoint refused a call (${why}).`,
      note,
    };
  }
  return { exitCode: 1, summary: `Codex stopped before finishing: ${why}.`, note };
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
