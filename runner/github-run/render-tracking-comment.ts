import type { Run } from "../../core/db/schema.ts";
import type { RunProgress } from "../run/read-run-progress.ts";

export interface TrackingCommentExtras {
  softBudgetWarning?: boolean | undefined;
  /** Set when the run has ended: how, and where the result is. */
  ended?: { outcome: string; link?: string | undefined } | undefined;
}

type TrackedRun = Pick<Run, "id" | "agent" | "model" | "attempt" | "createdAt" | "finishedAt">;

/** Marks Airlock's own comments so a re-published run finds (and edits) them instead of doubling them. */
export function commentMarker(kind: "tracking" | "result", runId: string): string {
  return `<!-- airlock:${kind}:${runId} -->`;
}

/** The one comment edited in place while a run goes: state, elapsed, LLM calls, tokens, cost. */
export function renderTrackingComment(
  run: TrackedRun,
  p: RunProgress,
  f: TrackingCommentExtras = {},
): string {
  const elapsedS = ((run.finishedAt ?? new Date()).getTime() - run.createdAt.getTime()) / 1000;
  const lines = [
    commentMarker("tracking", run.id),
    `**Airlock run \`${run.id}\`** · agent \`${run.agent ?? "?"}\` · model \`${run.model ?? "?"}\`${run.attempt > 1 ? ` · attempt ${run.attempt}` : ""}`,
    "",
    "| state | elapsed | LLM calls | tokens in / out | cost |",
    "| --- | ---: | ---: | ---: | ---: |",
    `| ${f.ended?.outcome ?? p.state ?? "queued"} | ${formatElapsed(elapsedS)} | ${p.calls} | ${p.inputTokens.toLocaleString("en-US")} / ${p.outputTokens.toLocaleString("en-US")} | $${Number(p.costUsd).toFixed(4)} |`,
  ];
  if (f.softBudgetWarning === true) {
    lines.push("", "> [!WARNING]", "> This run has used more than 80% of its budget.");
  }
  if (f.ended) {
    lines.push("", f.ended.link ? `Result: ${f.ended.link}` : "The run has ended; see the comment below.");
  } else {
    lines.push("", "Stop it with `/airlock stop`.");
  }
  return lines.join("\n");
}

function formatElapsed(s: number): string {
  const whole = Math.max(0, Math.round(s));
  const m = Math.floor(whole / 60);
  return m > 0 ? `${m}m ${String(whole % 60).padStart(2, "0")}s` : `${whole}s`;
}
