/**
 * What the stand-in remembers. Plain arrays and maps a test can read directly; the REST
 * handlers, the seeding API and the webhook payload builders all read and write the same
 * objects, so a later read always sees an earlier write.
 */
export type UserType = "User" | "Bot" | "Organization";
export type User = { login: string; id: number; type: UserType };

export type Installation = {
  id: number;
  account: User;
  permissions: Record<string, string>;
  /** Repositories the installation was granted (ids of `Repo`). */
  repositoryIds: number[];
  createdAt: string;
};

export type Repo = {
  id: number;
  owner: User;
  name: string;
  fullName: string;
  defaultBranch: string;
  private: boolean;
  /**
   * False for a private repository on a plan without draft pull requests (GitHub Free): a
   * draft is then refused with 422, as GitHub does.
   */
  draftPullRequests: boolean;
  installationId: number;
  /** The bare repository on disk that `git http-backend` serves. */
  gitDir: string;
  cloneUrl: string;
  htmlUrl: string;
  createdAt: string;
};

export type Role = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** Issues and pull requests share one numbering per repository, as on GitHub. */
export type Issue = {
  id: number;
  repo: string;
  number: number;
  title: string;
  body: string | null;
  user: string;
  labels: string[];
  state: "open" | "closed";
  stateReason: string | null;
  isPull: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
};

/**
 * The pull-request half of a PR. Title, body, labels and state live on its `Issue`;
 * `title`, `body` and `state` here are read-through getters onto it (`body` is "" when
 * the PR has none), so both views always agree.
 */
export type Pull = {
  id: number;
  repo: string;
  number: number;
  readonly title: string;
  readonly body: string;
  readonly state: "open" | "closed";
  head: string;
  base: string;
  headSha: string;
  baseSha: string;
  draft: boolean;
  maintainerCanModify: boolean;
  merged: boolean;
};

export function createPullRecord(issue: Issue, fields: Omit<Pull, "title" | "body" | "state">): Pull {
  return {
    ...fields,
    get title() {
      return issue.title;
    },
    get body() {
      return issue.body ?? "";
    },
    get state() {
      return issue.state;
    },
  };
}

export type IssueComment = {
  id: number;
  repo: string;
  issueNumber: number;
  body: string;
  user: string;
  createdAt: string;
  updatedAt: string;
};

export type Label = {
  id: number;
  repo: string;
  name: string;
  color: string;
  description: string | null;
};

export type ReactionSubject =
  | { kind: "issue"; issueNumber: number }
  | { kind: "issue_comment"; commentId: number }
  | { kind: "review_comment"; commentId: number };

export type Reaction = {
  id: number;
  repo: string;
  subject: ReactionSubject;
  content: string;
  user: string;
  createdAt: string;
};

export type CheckRun = {
  id: number;
  repo: string;
  name: string;
  headSha: string;
  status: string;
  conclusion: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  startedAt: string | null;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  /** Every body written, in order, for tests that check what was reported when. */
  updates: Record<string, unknown>[];
  /** `github-actions` when a workflow's GITHUB_TOKEN created it; else the stand-in's app. */
  appSlug?: string;
};

export type Review = {
  id: number;
  repo: string;
  pullNumber: number;
  user: string;
  body: string;
  state: "PENDING" | "COMMENTED" | "APPROVED" | "CHANGES_REQUESTED";
  commitId: string;
  submittedAt: string | null;
};

export type ReviewComment = {
  id: number;
  repo: string;
  pullNumber: number;
  reviewId: number;
  body: string;
  user: string;
  path: string;
  line: number | null;
  side: "LEFT" | "RIGHT";
  commitId: string;
  inReplyToId: number | null;
  createdAt: string;
  updatedAt: string;
};

export type InstallationToken = {
  token: string;
  installationId: number;
  /** Repositories the token may reach; every repository of the installation when minted without a list. */
  repositoryIds: number[];
  repositorySelection: "all" | "selected";
  permissions: Record<string, string>;
  expiresAt: Date;
  createdAt: Date;
  /** Set on a workflow run's GITHUB_TOKEN: writes are github-actions[bot]'s, check runs the github-actions app's. */
  workflowRunId?: number;
};

/** A run of a workflow started by `workflow_dispatch` (issue 11). */
export type WorkflowRun = {
  id: number;
  repo: string;
  /** `.github/workflows/<file>` */
  path: string;
  /** The workflow's `name:` (the file's path when it has none). */
  name: string;
  /** `run-name:` with `${{ inputs.* }}` filled in, or the workflow's name. */
  displayTitle: string;
  /** The branch dispatched on, and its head when dispatched. */
  headBranch: string;
  headSha: string;
  inputs: Record<string, string>;
  /** The workflow file's `permissions:` at dispatch: what its GITHUB_TOKEN may do. */
  permissions: Record<string, string>;
  status: "queued" | "in_progress" | "completed";
  conclusion: "success" | "failure" | "cancelled" | null;
  actor: string;
  runNumber: number;
  createdAt: string;
  updatedAt: string;
};

export type GitRequest = {
  service: "git-upload-pack" | "git-receive-pack";
  repo: string;
  /** The installation token presented, if any. */
  token?: string;
  status: number;
};

export type GitHubState = {
  users: Map<string, User>;
  installations: Map<number, Installation>;
  /** Keyed by lower-case `owner/name`: GitHub's names are case-insensitive. */
  repos: Map<string, Repo>;
  /** Keyed by repo full name (lower case), then login. */
  permissions: Map<string, Map<string, Role>>;
  issues: Issue[];
  pulls: Pull[];
  comments: IssueComment[];
  labels: Label[];
  reactions: Reaction[];
  checkRuns: CheckRun[];
  reviews: Review[];
  reviewComments: ReviewComment[];
  tokens: InstallationToken[];
  gitRequests: GitRequest[];
  workflowRuns: WorkflowRun[];
};

export function createGitHubState(): GitHubState {
  return {
    users: new Map(),
    installations: new Map(),
    repos: new Map(),
    permissions: new Map(),
    issues: [],
    pulls: [],
    comments: [],
    labels: [],
    reactions: [],
    checkRuns: [],
    reviews: [],
    reviewComments: [],
    tokens: [],
    gitRequests: [],
    workflowRuns: [],
  };
}
