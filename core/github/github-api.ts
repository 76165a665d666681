/**
 * GitHub, as Airlock uses it: the one port for every REST call the app and the runner
 * make. `createOctokitGitHubApi` is its only implementation; tests point it at the
 * stand-in in test/stand-ins/github with GITHUB_API_URL.
 */
export interface RepoRef {
  owner: string;
  repo: string;
}

/** GitHub's collaborator `role_name`, weakest first; "none" when the user has no access. */
export type RepoRole = "none" | "read" | "triage" | "write" | "maintain" | "admin";

export interface RepositoryInfo {
  fullName: string;
  defaultBranch: string;
  /** As GitHub reports it: never built from a host name (DESIGN §3). */
  cloneUrl: string;
  htmlUrl: string;
}

export interface IssueInfo {
  number: number;
  title: string;
  body: string;
  author: string;
  authorType: "User" | "Bot" | "Organization" | string;
  isPullRequest: boolean;
  htmlUrl: string;
}

export interface IssueCommentInfo {
  id: number;
  author: string;
  authorType: string;
  body: string;
  createdAt: string;
}

export interface PullInfo {
  number: number;
  title: string;
  body: string;
  headRef: string;
  headSha: string;
  baseRef: string;
  draft: boolean;
  state: "open" | "closed";
  htmlUrl: string;
}

/** A pull request review comment: one on a line, or a reply in its thread (`inReplyToId`). */
export interface ReviewCommentInfo {
  id: number;
  /** The review it belongs to; null for GitHub's legacy comments that have none. */
  reviewId: number | null;
  author: string;
  authorType: string;
  body: string;
  path: string;
  line: number | null;
  /** The thread's top comment, for a reply. */
  inReplyToId: number | null;
  htmlUrl: string;
}

/** A review of one commit, posted at once (never left pending), with comments on lines of the new side. */
export interface NewReview {
  commitId: string;
  body: string;
  event: "COMMENT";
  comments: { path: string; line: number; body: string }[];
}

export type ReactionTarget = { issueNumber: number } | { commentId: number } | { reviewCommentId: number };
export type ReactionContent = "eyes" | "+1" | "-1" | "rocket" | "confused";

/** Calls made as one installation (its token is minted and cached by the implementation). */
export interface GitHubApi {
  getRepository(repo: RepoRef): Promise<RepositoryInfo>;
  getRole(repo: RepoRef, login: string): Promise<RepoRole>;
  /** The file's text at `ref` (default branch when absent); undefined when it does not exist. */
  readFile(repo: RepoRef, path: string, ref?: string): Promise<string | undefined>;
  getIssue(repo: RepoRef, issueNumber: number): Promise<IssueInfo>;
  listIssueComments(repo: RepoRef, issueNumber: number): Promise<IssueCommentInfo[]>;
  createIssueComment(
    repo: RepoRef,
    issueNumber: number,
    body: string,
  ): Promise<{ id: number; htmlUrl: string }>;
  updateIssueComment(repo: RepoRef, commentId: number, body: string): Promise<void>;
  addReaction(repo: RepoRef, target: ReactionTarget, content: ReactionContent): Promise<void>;
  /** Creates the label unless one with that name exists. */
  ensureLabel(
    repo: RepoRef,
    label: { name: string; color: string; description: string },
  ): Promise<"created" | "exists">;
  getPull(repo: RepoRef, pullNumber: number): Promise<PullInfo>;
  /** The open pull request whose head is `branch` in the same repository, if any. */
  findOpenPull(repo: RepoRef, branch: string): Promise<PullInfo | undefined>;
  createPull(
    repo: RepoRef,
    pull: { title: string; head: string; base: string; body: string; draft: boolean },
  ): Promise<PullInfo>;
  updatePull(repo: RepoRef, pullNumber: number, change: { title?: string; body?: string }): Promise<void>;
  /** GitHub answers the review without its comments: listReviewComments has them. */
  createReview(
    repo: RepoRef,
    pullNumber: number,
    review: NewReview,
  ): Promise<{ id: number; htmlUrl: string }>;
  /** Every review comment of the pull request, replies included, oldest first. */
  listReviewComments(repo: RepoRef, pullNumber: number): Promise<ReviewCommentInfo[]>;
  /** A reply in the thread of a top-level review comment. */
  replyToReviewComment(
    repo: RepoRef,
    pullNumber: number,
    commentId: number,
    body: string,
  ): Promise<{ id: number; htmlUrl: string }>;
  /**
   * Starts `.github/workflows/<workflow>` on `ref` with `inputs` (workflow_dispatch, issue
   * 11). GitHub answers with the run's id. A missing file is a GitHubApiError with status
   * 404, a file without the trigger or with other inputs 422.
   */
  dispatchWorkflow(
    repo: RepoRef,
    workflow: string,
    dispatch: { ref: string; inputs: Record<string, string> },
  ): Promise<{ workflowRunId: number }>;
  /** Completed check runs named `name` on commit `ref`, newest first, with the app that made each. */
  listCheckRuns(repo: RepoRef, ref: string, name: string): Promise<CheckRunInfo[]>;
}

export interface CheckRunInfo {
  id: number;
  externalId: string | null;
  conclusion: string | null;
  /** The app that created it; `github-actions` for a workflow's GITHUB_TOKEN. */
  appSlug: string | undefined;
  outputText: string | null;
}

/** Calls made as the app itself (its JWT). */
export interface GitHubApp {
  forInstallation(installationId: number): GitHubApi;
  /**
   * A token for git, minted per push: scoped to one repository and to the permissions
   * named, so a leaked token reaches nothing else (DESIGN §7).
   */
  createInstallationToken(
    installationId: number,
    scope: { repositories: string[]; permissions: Record<string, "read" | "write"> },
  ): Promise<{ token: string; expiresAt: string }>;
}

/** A GitHub API failure, converted once in the adapter; `status` is GitHub's HTTP status. */
export class GitHubApiError extends Error {
  readonly status: number | undefined;
  constructor(message: string, options: { cause?: unknown; status?: number | undefined } = {}) {
    super(message, { cause: options.cause });
    this.name = "GitHubApiError";
    this.status = options.status;
  }
}
