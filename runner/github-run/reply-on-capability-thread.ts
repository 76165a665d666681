import type { GitHubApi, RepoRef } from "../../core/github/github-api.ts";
import { clipToGitHubLimit } from "./clip-to-github-limit.ts";

/**
 * A reply in a capability request's thread (the review comment that asked about it): where
 * the runner reports what became of the request, a rebuild failure's log tail above all
 * (issue 10 §5). `body` is Markdown the caller built (renderRebuildFailureReply for a log).
 */
export async function replyOnCapabilityThread(
  github: GitHubApi,
  repo: RepoRef,
  prNumber: number,
  reviewCommentId: number,
  body: string,
): Promise<{ id: number; htmlUrl: string }> {
  return github.replyToReviewComment(repo, prNumber, reviewCommentId, clipToGitHubLimit(body));
}
