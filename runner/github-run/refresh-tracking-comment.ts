import type { Db } from "../../core/db/open-database.ts";
import { readRunProgress, type RunProgress } from "../../core/db/runs.ts";
import type { Run } from "../../core/db/schema.ts";
import type { GitHubApi, RepoRef } from "../../core/github/github-api.ts";
import type { Logger } from "../../core/logger.ts";
import {
  renderTrackingComment,
  type TrackingCommentExtras,
} from "../../core/summary/render-tracking-comment.ts";

/**
 * Rewrite a run's tracking comment (when it has one) from its stored progress: a
 * courtesy, so a failure is logged, never thrown — the run's record and its pull request
 * are what count.
 */
export async function refreshTrackingComment(
  deps: { db: Db; github: GitHubApi; log: Logger },
  repo: RepoRef,
  run: Run,
  extras: TrackingCommentExtras,
  /** Already read by the caller, so the edit is asked for at once (publishGitHubRun orders its writes). */
  read?: RunProgress | undefined,
): Promise<void> {
  if (run.trackingCommentId === null) return;
  const progress = read ?? (await readRunProgress(deps.db, run.id));
  await deps.github
    .updateIssueComment(repo, run.trackingCommentId, renderTrackingComment(run, progress, extras))
    .catch((error: unknown) =>
      deps.log.warn({ err: (error as Error).message }, "could not update the tracking comment"),
    );
}
