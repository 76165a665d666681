import type { Issue, IssueComment, Pull, Repo, ReviewComment } from "./github-state.ts";
import {
  renderIssue,
  renderIssueComment,
  renderPull,
  renderRepo,
  renderReviewComment,
} from "./render-github-resources.ts";
import type { StandInCore } from "./stand-in-core.ts";

/** Renders state objects with everything they reference, for REST answers and webhook payloads alike. */
function repoOf(core: StandInCore, fullName: string): Repo {
  const repo = core.state.repos.get(fullName.toLowerCase());
  if (repo === undefined) throw new Error(`stand-in state refers to an unknown repository ${fullName}`);
  return repo;
}

export function viewRepo(core: StandInCore, repo: Repo): Record<string, unknown> {
  return renderRepo(core.urls, repo, core.openIssueCount(repo));
}

export function viewIssue(core: StandInCore, issue: Issue): Record<string, unknown> {
  const { state } = core;
  return renderIssue(core.urls, issue, {
    user: core.ensureUser(issue.user),
    labels: core.labelsOf(issue),
    comments: state.comments.filter((c) => c.repo === issue.repo && c.issueNumber === issue.number).length,
    repo: repoOf(core, issue.repo),
    reactions: state.reactions.filter(
      (r) => r.repo === issue.repo && r.subject.kind === "issue" && r.subject.issueNumber === issue.number,
    ),
  });
}

export function viewIssueComment(core: StandInCore, comment: IssueComment): Record<string, unknown> {
  const issue = core.state.issues.find((i) => i.repo === comment.repo && i.number === comment.issueNumber);
  return renderIssueComment(core.urls, comment, {
    user: core.ensureUser(comment.user),
    repo: repoOf(core, comment.repo),
    isPull: issue?.isPull ?? false,
    reactions: core.state.reactions.filter(
      (r) => r.subject.kind === "issue_comment" && r.subject.commentId === comment.id,
    ),
  });
}

export function viewPull(core: StandInCore, pull: Pull, full: boolean): Record<string, unknown> {
  const issue = core.state.issues.find((i) => i.repo === pull.repo && i.number === pull.number);
  if (issue === undefined) throw new Error(`pull ${pull.repo}#${pull.number} has no issue half`);
  const repo = repoOf(core, pull.repo);
  return renderPull(core.urls, pull, {
    issue,
    user: core.ensureUser(issue.user),
    repo,
    labels: core.labelsOf(issue),
    openIssues: core.openIssueCount(repo),
    comments: core.state.comments.filter((c) => c.repo === pull.repo && c.issueNumber === pull.number).length,
    reviewComments: core.state.reviewComments.filter(
      (c) => c.repo === pull.repo && c.pullNumber === pull.number,
    ).length,
    full,
  });
}

export function viewReviewComment(core: StandInCore, comment: ReviewComment): Record<string, unknown> {
  return renderReviewComment(core.urls, comment, {
    user: core.ensureUser(comment.user),
    repo: repoOf(core, comment.repo),
    reactions: core.state.reactions.filter(
      (r) => r.subject.kind === "review_comment" && r.subject.commentId === comment.id,
    ),
  });
}
