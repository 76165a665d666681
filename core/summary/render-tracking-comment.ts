import type { RunProgress } from "../db/runs.ts";
import type { Run } from "../db/schema.ts";
import { commentMarker } from "./comment-marker.ts";
import { formatCode } from "./escape-markdown.ts";
import { mentionUser } from "./mention-user.ts";

/** What the app knows when it records a run, shown until a runner first edits the comment. */
export interface QueuedRunFacts {
  budgetUsd: number;
  budgetTokens: number;
  sender: string;
  /** Set for a follow-up run: the run whose pull request it continues. */
  followUpOf?: string | undefined;
  /** Logins whose comments were left out of the task (below the permission, or over the size cap). */
  withheldAuthors?: readonly string[] | undefined;
  omittedAuthors?: readonly string[] | undefined;
}

export interface TrackingCommentExtras {
  /** The app's first post, before any runner has the run. */
  queued?: QueuedRunFacts | undefined;
  softBudgetWarning?: boolean | undefined;
  /**
   * Set while the run is parked in awaiting_approval (issue 10 §3): the pull request whose
   * review asks a maintainer about its capability requests, and how many are pending.
   */
  awaiting?: { prNumber: number; link?: string | undefined; pending: number } | undefined;
  /** Set when the run has ended: how, and where the result is. */
  ended?: { outcome: string; link?: string | undefined } | undefined;
}

type TrackedRun = Pick<Run, "id" | "agent" | "model" | "attempt" | "createdAt" | "finishedAt">;

const nothingYet: RunProgress = { state: undefined, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: "0" };

/**
 * The one comment edited in place while a run goes. The app posts it when it records the
 * run (`queued`: budget, who asked, whose text was left out; no progress yet); the runner
 * edits it from then on: state, elapsed, LLM calls, tokens, cost.
 */
export function renderTrackingComment(
  run: TrackedRun,
  progress: RunProgress | undefined,
  f: TrackingCommentExtras = {},
): string {
  if (f.queued) return renderQueued(run, f.queued);
  const p = progress ?? nothingYet;
  const elapsedS = ((run.finishedAt ?? new Date()).getTime() - run.createdAt.getTime()) / 1000;
  const lines = [
    commentMarker("tracking", run.id),
    `**Airlock run \`${run.id}\`** · agent \`${run.agent ?? "?"}\` · model \`${run.model ?? "?"}\`${run.attempt > 1 ? ` · attempt ${run.attempt}` : ""}`,
    "",
    "| state | elapsed | LLM calls | tokens in / out | cost |",
    "| --- | ---: | ---: | ---: | ---: |",
    `| ${f.ended?.outcome ?? (f.awaiting ? "awaiting_approval" : undefined) ?? p.state ?? "queued"} | ${formatElapsed(elapsedS)} | ${p.calls} | ${p.inputTokens.toLocaleString("en-US")} / ${p.outputTokens.toLocaleString("en-US")} | $${Number(p.costUsd).toFixed(4)} |`,
  ];
  if (f.softBudgetWarning === true) {
    lines.push("", "> [!WARNING]", "> This run has used more than 80% of its budget.");
  }
  if (f.ended) {
    lines.push("", f.ended.link ? `Result: ${f.ended.link}` : "The run has ended; see the comment below.");
  } else if (f.awaiting) {
    const n = f.awaiting.pending;
    lines.push(
      "",
      `Waiting for a decision in pull request #${f.awaiting.prNumber}${f.awaiting.link ? ` (${f.awaiting.link})` : ""}: ` +
        `the agent asked for ${n} capabilit${n === 1 ? "y" : "ies"}. Approve the review to grant ${n === 1 ? "it" : "them all"}, ` +
        "or reply `/approve` or `/deny <why>` on a request's comment. Nothing runs until then.",
    );
  } else {
    lines.push("", "Stop it with `/airlock stop`.");
  }
  return lines.join("\n");
}

function renderQueued(run: TrackedRun, q: QueuedRunFacts): string {
  const lines = [
    commentMarker("tracking", run.id),
    `Airlock run ${formatCode(run.id)} queued: agent ${formatCode(run.agent ?? "?")}, model ${formatCode(run.model ?? "?")}, ` +
      `budget $${q.budgetUsd.toFixed(2)} / ${q.budgetTokens.toLocaleString("en-US")} tokens. ` +
      `Requested by ${mentionUser(q.sender)}.`,
  ];
  if (q.followUpOf)
    lines.push("", `Follow-up of run ${formatCode(q.followUpOf)}, on this pull request's branch.`);
  if (q.withheldAuthors && q.withheldAuthors.length > 0) {
    lines.push(
      "",
      `Not given to the agent (below the required permission): text by ${q.withheldAuthors.map(formatCode).join(", ")}.`,
    );
  }
  if (q.omittedAuthors && q.omittedAuthors.length > 0) {
    lines.push(
      "",
      `Left out to fit the size cap: older comments by ${q.omittedAuthors.map(formatCode).join(", ")}.`,
    );
  }
  lines.push("", "Stop it with `/airlock stop`.");
  return lines.join("\n");
}

function formatElapsed(s: number): string {
  const whole = Math.max(0, Math.round(s));
  const m = Math.floor(whole / 60);
  return m > 0 ? `${m}m ${String(whole % 60).padStart(2, "0")}s` : `${whole}s`;
}
