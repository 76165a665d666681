import type { RunOutcome } from "./decide-run-outcome.ts";

/**
 * The relay commit's subject and body. A run that did not succeed still publishes what
 * the agent left, and both say it is partial.
 */
export function composeCommitMessage(
  outcome: RunOutcome,
  reason: string,
  task: string,
  agentSummary: string | undefined,
): { subject: string; body: string } {
  const first = task.trim().split("\n")[0]?.trim() ?? "";
  const short = first.length > 60 ? `${first.slice(0, 57)}...` : first;
  const subject = `${outcome === "succeeded" ? "" : `[partial: ${outcome}] `}Airlock: ${short}`;
  const parts: string[] = [];
  if (outcome !== "succeeded") {
    parts.push(
      `Partial result: the run ended ${outcome} (${reason}) before the agent finished. These are the files as the agent left them.`,
    );
  }
  parts.push(agentSummary ?? "The agent wrote no summary.");
  return { subject, body: parts.join("\n\n") };
}

/** The commit a run makes when it parks for capability decisions (issue 10 §2). */
export function composePauseCommitMessage(
  pending: readonly string[],
  task: string,
  agentSummary: string | undefined,
): { subject: string; body: string } {
  const first = task.trim().split("\n")[0]?.trim() ?? "";
  const short = first.length > 60 ? `${first.slice(0, 57)}...` : first;
  return {
    subject: `[waiting for approval] Airlock: ${short}`,
    body: [
      `Work so far. The agent asked for ${pending.join(", ")} (see .github/airlock/capabilities.yml) and waits for a maintainer's decision in the pull request's review; the run resumes on this branch after it.`,
      agentSummary ?? "The agent wrote no summary.",
    ].join("\n\n"),
  };
}
