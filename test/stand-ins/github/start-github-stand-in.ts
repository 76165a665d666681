/**
 * A strict stand-in for GitHub (REST, git smart HTTP, webhook deliveries) for Airlock's
 * end-to-end tests; GitHub itself cannot be reached from here. See README.md beside this
 * file. Every REST request is matched against GitHub's published OpenAPI description and
 * validated with openapi-backend; requests GitHub would refuse are refused the same way
 * AND recorded in `violations`, and `close()` throws while `violations` is not empty, so an
 * app that calls an undocumented route, sends a malformed body or uses the wrong credential
 * fails its test without the test having to look. A test that provokes violations on
 * purpose asserts them and acknowledges them with `takeViolations()`.
 */
import { createPublicKey, randomBytes, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addPullRecord } from "./add-pull-record.ts";
import { createBareRepo, readBranchSnapshot, resolveCommit } from "./bare-git-repo.ts";
import { createWebhookPayloads, type WebhookPayloads } from "./build-webhook-payloads.ts";
import { deliverWebhook } from "./deliver-webhook.ts";
import {
  createGitHubState,
  type GitHubState,
  type GitRequest,
  type Installation,
  type Issue,
  type InstallationToken,
  type IssueComment,
  type Pull,
  type Repo,
  type Review,
  type ReviewComment,
  type Role,
  type User,
  type UserType,
  type WorkflowRun,
} from "./github-state.ts";
import {
  handleRestRequest,
  type RecordedRequest,
  type RestContext,
  type Violation,
} from "./handle-rest-request.ts";
import { ensureLabel } from "./issue-routes.ts";
import { loadGitHubOpenApi } from "./load-github-openapi.ts";
import { serveGitHttp } from "./serve-git-http.ts";
import { createStandInCore, type StandInCore } from "./stand-in-core.ts";

export type { RecordedRequest, Violation, ViolationKind } from "./handle-rest-request.ts";

export type GitHubStandInOptions = {
  appId: number;
  /** Default "airlock-test"; the bot user is `<slug>[bot]`. */
  appSlug?: string;
  /** PEM of the app's public key, to verify the app JWT. */
  publicKeyPem: string;
  webhookSecret: string;
  webhookUrl?: string;
  /** Where bare repos live; a fresh temp dir (removed on close) when omitted. */
  tmpDir?: string;
  /**
   * Validate every 2xx JSON answer against GitHub's response schema; a mismatch (a stand-in
   * bug the app could be leaning on) is a `response` violation. Default true.
   */
  validateResponses?: boolean;
};

export type GitHubStandIn = {
  /** GITHUB_API_URL for Octokit: `http://127.0.0.1:PORT`, no trailing slash. */
  apiUrl: string;
  /** Base of clone URLs: `http://127.0.0.1:PORT/git`. */
  gitUrl: string;
  /** The app's bot user (`<slug>[bot]`), the author of every write made with an installation token. */
  botUser: User;
  setWebhookUrl(url: string): void;
  createInstallation(opts: {
    id: number;
    account: string;
    permissions?: Record<string, string>;
  }): Installation;
  createRepo(opts: {
    owner: string;
    name: string;
    installationId: number;
    defaultBranch?: string;
    files?: Record<string, string>;
    private?: boolean;
    /** Default true; false models a private repository on GitHub Free. */
    draftPullRequests?: boolean;
  }): Promise<Repo>;
  setPermission(repoFullName: string, login: string, role: Role): void;
  createUser(login: string, type?: UserType): User;
  createIssue(
    repoFullName: string,
    opts: { title: string; body?: string; user: string; labels?: string[] },
  ): Issue;
  addIssueComment(
    repoFullName: string,
    issueNumber: number,
    opts: { body: string; user: string },
  ): IssueComment;
  /** Opens a PR from an existing branch as `user` (the app opens its own through the API). */
  createPull(
    repoFullName: string,
    opts: { head: string; base?: string; title: string; body?: string; user: string; draft?: boolean },
  ): Promise<Pull>;
  /** A review comment on a line, or (`inReplyTo`) a reply in that comment's thread. */
  addReviewComment(
    repoFullName: string,
    pullNumber: number,
    opts: { body: string; user: string; path: string; line?: number; inReplyTo?: number },
  ): ReviewComment;
  /** A review `user` submitted on the pull request's head (deliver it with payloads.pullRequestReviewSubmitted). */
  addReview(
    repoFullName: string,
    pullNumber: number,
    opts: { user: string; state: "APPROVED" | "COMMENTED" | "CHANGES_REQUESTED"; body?: string },
  ): Promise<Review>;
  readBranch(
    repoFullName: string,
    branch: string,
  ): Promise<
    { sha: string; parent: string | undefined; files: Record<string, string>; message: string } | undefined
  >;
  state: GitHubState;
  requests: RecordedRequest[];
  gitRequests: GitRequest[];
  violations: Violation[];
  /** The violations so far, which the test has now seen: they no longer fail `close()`. */
  takeViolations(): Violation[];
  deliver(
    event: string,
    payload: object,
    opts?: { deliveryId?: string; secret?: string; validate?: boolean },
  ): Promise<{ status: number; body: string; deliveryId: string }>;
  /** `sender` labels the issue: the label is applied and the `issues.labeled` webhook delivered. */
  deliverLabeled(
    labeled: Parameters<WebhookPayloads["issuesLabeled"]>[0],
    opts?: { deliveryId?: string; secret?: string },
  ): Promise<{ status: number; body: string; deliveryId: string }>;
  payloads: WebhookPayloads;
  /**
   * The test plays the Actions runner for a dispatched run (issue 11): the run goes
   * in_progress and gets a GITHUB_TOKEN with exactly the workflow file's `permissions:`
   * (least privilege is what the token can do), and the environment the runner gives a
   * JavaScript action (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, ...) plus the
   * workflow_dispatch event for GITHUB_EVENT_PATH.
   */
  startWorkflowRun(runId: number): {
    run: WorkflowRun;
    token: string;
    env: Record<string, string>;
    event: Record<string, unknown>;
  };
  /** Ends the run (its token stops working) and delivers `workflow_run.completed`. */
  completeWorkflowRun(
    runId: number,
    conclusion: "success" | "failure" | "cancelled",
  ): Promise<{ status: number; body: string; deliveryId: string }>;
  /** Stops the server and removes its temp dir; then throws when a violation was seen and not taken. */
  close(): Promise<void>;
};

const defaultPermissions = {
  metadata: "read",
  contents: "write",
  issues: "write",
  pull_requests: "write",
  checks: "write",
};

export async function startGitHubStandIn(opts: GitHubStandInOptions): Promise<GitHubStandIn> {
  const openApi = await loadGitHubOpenApi();
  const publicKey = createPublicKey(opts.publicKeyPem);
  const ownsTmp = opts.tmpDir === undefined;
  const root = opts.tmpDir ?? (await mkdtemp(join(tmpdir(), "github-stand-in-")));
  const projectRoot = join(root, "repos");
  const state = createGitHubState();
  const requests: RecordedRequest[] = [];
  const violations: Violation[] = [];
  let webhookUrl = opts.webhookUrl;
  const hookId = randomInt(100_000, 999_999);
  const slug = opts.appSlug ?? "airlock-test";

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/git/")) {
      serveGitHttp({
        req,
        res,
        url,
        state,
        projectRoot,
        onRefusal: (refusal) =>
          violations.push({
            method: req.method ?? "GET",
            path: url.pathname,
            kind: "unauthorized",
            detail: `${refusal.service} ${refusal.repo}: ${refusal.detail}`,
          }),
      });
      return;
    }
    void handleRestRequest(rest, req, res, url).catch((error: unknown) => {
      violations.push({
        method: req.method ?? "GET",
        path: url.pathname,
        kind: "invalid",
        detail: `the stand-in failed: ${error instanceof Error ? error.stack : String(error)}`,
      });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Server Error" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const core: StandInCore = createStandInCore({
    state,
    urls: { api: base, web: `${base}/web` },
    appId: opts.appId,
    appSlug: slug,
  });
  const rest: RestContext = {
    openApi,
    core,
    requests,
    violations,
    publicKey,
    appId: opts.appId,
    validateResponses: opts.validateResponses !== false,
  };

  const payloads = createWebhookPayloads(core);
  const repoByName = (fullName: string): Repo => {
    const repo = state.repos.get(fullName.toLowerCase());
    if (repo === undefined) throw new Error(`no stand-in repository ${fullName}: createRepo it first`);
    return repo;
  };

  const standIn: GitHubStandIn = {
    apiUrl: base,
    gitUrl: `${base}/git`,
    botUser: core.app.bot,
    setWebhookUrl: (next) => {
      webhookUrl = next;
    },
    createInstallation: (seed) => {
      if (state.installations.has(seed.id)) throw new Error(`installation ${seed.id} already exists`);
      const installation: Installation = {
        id: seed.id,
        account: core.ensureUser(seed.account),
        permissions: { ...(seed.permissions ?? defaultPermissions) },
        repositoryIds: [],
        createdAt: core.nowIso(),
      };
      state.installations.set(seed.id, installation);
      return installation;
    },
    createRepo: async (seed) => {
      const installation = state.installations.get(seed.installationId);
      if (installation === undefined) throw new Error(`createInstallation(${seed.installationId}) first`);
      const fullName = `${seed.owner}/${seed.name}`;
      if (state.repos.has(fullName.toLowerCase())) throw new Error(`repository ${fullName} already exists`);
      const gitDir = join(projectRoot, seed.owner, `${seed.name}.git`);
      const defaultBranch = seed.defaultBranch ?? "main";
      await createBareRepo({ gitDir, defaultBranch, files: seed.files ?? {}, scratchRoot: root });
      const repo: Repo = {
        id: core.nextId(),
        owner: core.ensureUser(seed.owner),
        name: seed.name,
        fullName,
        defaultBranch,
        private: seed.private ?? false,
        draftPullRequests: seed.draftPullRequests ?? true,
        installationId: installation.id,
        gitDir,
        cloneUrl: `${base}/git/${fullName}.git`,
        htmlUrl: `${base}/web/${fullName}`,
        createdAt: core.nowIso(),
      };
      state.repos.set(fullName.toLowerCase(), repo);
      installation.repositoryIds.push(repo.id);
      return repo;
    },
    setPermission: (repoFullName, login, role) => {
      const repo = repoByName(repoFullName);
      core.ensureUser(login);
      const key = repo.fullName.toLowerCase();
      const roles = state.permissions.get(key) ?? new Map<string, Role>();
      roles.set(login.toLowerCase(), role);
      state.permissions.set(key, roles);
    },
    createUser: (login, type) => core.ensureUser(login, type),
    createIssue: (repoFullName, seed) => {
      const repo = repoByName(repoFullName);
      core.ensureUser(seed.user);
      const now = core.nowIso();
      const issue: Issue = {
        id: core.nextId(),
        repo: repo.fullName,
        number: state.issues.filter((i) => i.repo === repo.fullName).length + 1,
        title: seed.title,
        body: seed.body ?? null,
        user: seed.user,
        labels: (seed.labels ?? []).map((name) => ensureLabel(core, repo, name).name),
        state: "open",
        stateReason: null,
        isPull: false,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
      };
      state.issues.push(issue);
      return issue;
    },
    addIssueComment: (repoFullName, issueNumber, seed) => {
      const repo = repoByName(repoFullName);
      if (!state.issues.some((i) => i.repo === repo.fullName && i.number === issueNumber)) {
        throw new Error(`no issue ${repo.fullName}#${issueNumber}`);
      }
      core.ensureUser(seed.user);
      const now = core.nowIso();
      const comment: IssueComment = {
        id: core.nextId(),
        repo: repo.fullName,
        issueNumber,
        body: seed.body,
        user: seed.user,
        createdAt: now,
        updatedAt: now,
      };
      state.comments.push(comment);
      return comment;
    },
    createPull: async (repoFullName, seed) => {
      const repo = repoByName(repoFullName);
      const baseBranch = seed.base ?? repo.defaultBranch;
      const headSha = await resolveCommit(repo.gitDir, `refs/heads/${seed.head}`);
      const baseSha = await resolveCommit(repo.gitDir, `refs/heads/${baseBranch}`);
      if (headSha === undefined || baseSha === undefined) {
        throw new Error(`createPull: branches ${seed.head} and ${baseBranch} must exist in ${repo.fullName}`);
      }
      core.ensureUser(seed.user);
      return addPullRecord(core, repo, {
        title: seed.title,
        body: seed.body ?? null,
        user: seed.user,
        head: seed.head,
        base: baseBranch,
        headSha,
        baseSha,
        draft: seed.draft ?? false,
        maintainerCanModify: true,
      });
    },
    addReviewComment: (repoFullName, pullNumber, seed) => {
      const repo = repoByName(repoFullName);
      const pull = state.pulls.find((p) => p.repo === repo.fullName && p.number === pullNumber);
      if (pull === undefined) throw new Error(`no pull request ${repo.fullName}#${pullNumber}`);
      core.ensureUser(seed.user);
      const now = core.nowIso();
      const parent =
        seed.inReplyTo === undefined
          ? undefined
          : state.reviewComments.find((c) => c.id === seed.inReplyTo && c.pullNumber === pullNumber);
      if (seed.inReplyTo !== undefined && parent === undefined)
        throw new Error(`no review comment ${seed.inReplyTo} on ${repo.fullName}#${pullNumber} to reply to`);
      // Each single review comment lives in a review of its own on GitHub.
      const reviewId = core.nextId();
      state.reviews.push({
        id: reviewId,
        repo: repo.fullName,
        pullNumber,
        user: seed.user,
        body: "",
        state: "COMMENTED",
        commitId: pull.headSha,
        submittedAt: now,
      });
      const comment: ReviewComment = {
        id: core.nextId(),
        repo: repo.fullName,
        pullNumber,
        reviewId,
        body: seed.body,
        user: seed.user,
        path: parent?.path ?? seed.path,
        line: parent?.line ?? seed.line ?? 1,
        side: "RIGHT",
        commitId: parent?.commitId ?? pull.headSha,
        inReplyToId: parent === undefined ? null : (parent.inReplyToId ?? parent.id),
        createdAt: now,
        updatedAt: now,
      };
      state.reviewComments.push(comment);
      return comment;
    },
    addReview: async (repoFullName, pullNumber, seed) => {
      const repo = repoByName(repoFullName);
      const pull = state.pulls.find((p) => p.repo === repo.fullName && p.number === pullNumber);
      if (pull === undefined) throw new Error(`no pull request ${repo.fullName}#${pullNumber}`);
      core.ensureUser(seed.user);
      const review: Review = {
        id: core.nextId(),
        repo: repo.fullName,
        pullNumber,
        user: seed.user,
        body: seed.body ?? "",
        state: seed.state,
        commitId: (await resolveCommit(repo.gitDir, `refs/heads/${pull.head}`)) ?? pull.headSha,
        submittedAt: core.nowIso(),
      };
      // The reviewer saw the branch as it is now: so does the payload's pull_request.head.sha.
      pull.headSha = review.commitId;
      state.reviews.push(review);
      return review;
    },
    readBranch: (repoFullName, branch) => readBranchSnapshot(repoByName(repoFullName).gitDir, branch),
    state,
    requests,
    gitRequests: state.gitRequests,
    violations,
    takeViolations: () => violations.splice(0, violations.length),
    deliver: async (event, payload, deliverOpts = {}) => {
      if (webhookUrl === undefined) throw new Error("setWebhookUrl(url) before deliver()");
      if (deliverOpts.validate !== false) {
        const action = (payload as { action?: unknown }).action;
        const problems = await openApi.validateWebhookPayload(
          event,
          typeof action === "string" ? action : undefined,
          payload,
        );
        if (problems === undefined || problems.length > 0) {
          violations.push({
            method: "WEBHOOK",
            path: `${event}.${String(action)}`,
            kind: "invalid",
            detail:
              problems === undefined
                ? "GitHub documents no such webhook event and action"
                : `the payload does not match GitHub's webhook schema: ${problems.slice(0, 10).join("; ")}`,
          });
        }
      }
      return deliverWebhook({
        url: webhookUrl,
        secret: deliverOpts.secret ?? opts.webhookSecret,
        event,
        payload,
        hookId,
        appId: opts.appId,
        ...(deliverOpts.deliveryId === undefined ? {} : { deliveryId: deliverOpts.deliveryId }),
      });
    },
    deliverLabeled: (labeled, deliverOpts) =>
      standIn.deliver("issues", payloads.issuesLabeled(labeled), deliverOpts),
    payloads,
    startWorkflowRun: (runId) => {
      const run = state.workflowRuns.find((r) => r.id === runId);
      if (run === undefined) throw new Error(`no workflow run ${runId}: was the workflow dispatched?`);
      if (run.status !== "queued") throw new Error(`workflow run ${runId} is ${run.status}, not queued`);
      const repo = state.repos.get(run.repo.toLowerCase());
      if (repo === undefined) throw new Error(`no repository ${run.repo}`);
      run.status = "in_progress";
      run.updatedAt = new Date().toISOString();
      const token: InstallationToken = {
        token: `ghs_${randomBytes(18).toString("hex")}`,
        installationId: repo.installationId,
        repositoryIds: [repo.id],
        repositorySelection: "selected",
        // GitHub gives metadata: read to every token; the rest only as the workflow asks.
        permissions: { metadata: "read", ...run.permissions },
        expiresAt: new Date(Date.now() + 3_600_000),
        createdAt: new Date(),
        workflowRunId: run.id,
      };
      state.tokens.push(token);
      const event = {
        inputs: run.inputs,
        ref: `refs/heads/${run.headBranch}`,
        repository: { full_name: repo.fullName, name: repo.name, owner: { login: repo.owner.login } },
        sender: { login: run.actor },
        workflow: run.path,
      };
      return {
        run,
        token: token.token,
        event,
        env: {
          GITHUB_ACTIONS: "true",
          GITHUB_API_URL: base,
          GITHUB_SERVER_URL: `${base}/web`,
          GITHUB_REPOSITORY: repo.fullName,
          GITHUB_REPOSITORY_OWNER: repo.owner.login,
          GITHUB_RUN_ID: String(run.id),
          GITHUB_RUN_NUMBER: String(run.runNumber),
          GITHUB_RUN_ATTEMPT: "1",
          GITHUB_EVENT_NAME: "workflow_dispatch",
          GITHUB_REF: `refs/heads/${run.headBranch}`,
          GITHUB_SHA: run.headSha,
          GITHUB_WORKFLOW: run.name,
          GITHUB_ACTOR: run.actor,
          GITHUB_TOKEN: token.token,
        },
      };
    },
    completeWorkflowRun: async (runId, conclusion) => {
      const run = state.workflowRuns.find((r) => r.id === runId);
      if (run === undefined) throw new Error(`no workflow run ${runId}`);
      run.status = "completed";
      run.conclusion = conclusion;
      run.updatedAt = new Date().toISOString();
      for (const t of state.tokens) if (t.workflowRunId === run.id) t.expiresAt = new Date(0);
      return standIn.deliver("workflow_run", payloads.workflowRunCompleted({ run }));
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsTmp) await rm(root, { recursive: true, force: true });
      if (violations.length > 0) {
        const seen = violations.map((v) => `${v.kind} ${v.method} ${v.path}: ${v.detail}`);
        throw new Error(
          `the GitHub stand-in saw ${seen.length} violation(s) (a test that provokes them asserts them ` +
            `and calls takeViolations()):\n  ${seen.join("\n  ")}`,
        );
      }
    },
  };
  return standIn;
}
