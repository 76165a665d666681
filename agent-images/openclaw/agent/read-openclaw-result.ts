/** What the wrapper makes of OpenClaw's run: its exit code for Airlock and the summary. */
export interface OpenclawOutcome {
  /** 0 finished, 2 the LLM endpoint refused, 3 budget, 1 anything else. */
  exitCode: number;
  summary: string;
  /** One line for the log. */
  note: string;
}

interface Envelope {
  ok?: unknown;
  status?: unknown;
  final?: unknown;
  assistantTurns?: unknown;
  error?: { message?: unknown; kind?: unknown };
}

/**
 * Reads `openclaw agent exec --json`'s envelope (`{ok, status, final, error}`) and maps it
 * onto the exit codes the catalog gives the runner: `ok` with `status: "ok"` is a finished
 * turn whose `final` is the summary; an error names what OpenClaw gave up on.
 */
export function readOpenclawResult(stdout: string, exitCode: number | null): OpenclawOutcome {
  const envelope = lastEnvelope(stdout);
  if (envelope === undefined) {
    return {
      exitCode: 1,
      summary: `OpenClaw stopped without a result (exit ${String(exitCode)}); see the agent's log.`,
      note: `no JSON envelope (exit ${String(exitCode)})`,
    };
  }
  const final = typeof envelope.final === "string" ? envelope.final.trim() : "";
  const note = `status ${String(envelope.status)}, ${String(envelope.assistantTurns ?? 0)} turns`;
  if (envelope.ok === true && envelope.status === "ok" && exitCode === 0) {
    return { exitCode: 0, summary: final || "OpenClaw finished without a final message.", note };
  }
  const why = clip(
    typeof envelope.error?.message === "string" ? envelope.error.message : String(envelope.status),
  ).replace(/\.+$/, "");
  // The proxy's budget refusal (429, "out of budget") is one OpenClaw reads as a billing
  // stop, and reports as "a billing error … run out of credits".
  if (/budget_exceeded|budget|insufficient_quota|billing error|out of credits/i.test(why)) {
    return {
      exitCode: 3,
      summary: `OpenClaw stopped before finishing: the run's LLM budget is exhausted (${why}).`,
      note,
    };
  }
  if (/\b(401|403|400|404|429|5\d\d)\b|unauthori[sz]ed|forbidden|authentication/i.test(why)) {
    return {
      exitCode: 2,
      summary: `OpenClaw stopped before finishing: the LLM endpoint refused a call (${why}).`,
      note,
    };
  }
  return {
    exitCode: 1,
    summary: `OpenClaw stopped before finishing (${String(envelope.status)}): ${why}.`,
    note,
  };
}

/** The envelope is one JSON document, possibly pretty-printed, after any log lines. */
function lastEnvelope(stdout: string): Envelope | undefined {
  const start = stdout.indexOf("{");
  if (start === -1) return undefined;
  try {
    const value = JSON.parse(stdout.slice(start)) as unknown;
    return typeof value === "object" && value !== null ? (value as Envelope) : undefined;
  } catch {
    return undefined;
  }
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
