/**
 * A strict stand-in for GitHub (REST, git smart HTTP, webhook deliveries) for Airlock's
 * end-to-end tests; GitHub itself cannot be reached from here. See README.md beside this
 * file. Every REST request is matched against GitHub's published OpenAPI description and
 * validated with openapi-backend; requests GitHub would refuse are refused the same way
 * AND recorded in `violations`, which a test asserts is empty at the end, so an app that
 * calls an undocumented route, sends a malformed body or uses the wrong credential fails.
 */
import { createPublicKey, randomInt } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBareRepo, readBranchSnapshot, resolveCommit } from "./bare-git-repo.ts";
import { appRoutes } from "./app-routes.ts";
import { createWebhookPayloads, type WebhookPayloads } from "./build-webhook-payloads.ts";
import { deliverWebhook } from "./deliver-webhook.ts";
import { implementedOperations } from "./github-operations.ts";
import {
  createGitHubState,
  createPullRecord,
  type GitHubState,
  type GitRequest,
  type Installation,
  type Issue,
  type IssueComment,
  type Pull,
  type Repo,
  type ReviewComment,
  type Role,
  type User,
  type UserType,
} from "./github-state.ts";
import { ensureLabel, issueRoutes } from "./issue-routes.ts";
import { loadGitHubOpenApi, matchDocumentedRoute } from "./load-github-openapi.ts";
import { pullRoutes } from "./pull-routes.ts";
import { repoRoutes } from "./repo-routes.ts";
import { serveGitHttp } from "./serve-git-http.ts";
import {
  createStandInCore,
  githubError,
  type RouteCall,
  type RouteHandler,
  type RouteResult,
  type StandInCore,
} from "./stand-in-core.ts";
import { verifyAppJwt } from "./verify-app-jwt.ts";

export type ViolationKind = "undocumented" | "unimplemented" | "invalid" | "unauthorized" | "response";
export type Violation = { method: string; path: string; kind: ViolationKind; detail: string };
export type RecordedRequest = {
  method: string;
  path: string;
  operationId?: string;
  status: number;
  /** `<slug>[bot]` for installation tokens, `app:<slug>` for the app JWT. */
  actor?: string;
  /** The installation token presented, if any. */
  token?: string;
};

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
  addReviewComment(
    repoFullName: string,
    pullNumber: number,
    opts: { body: string; user: string; path: string; line?: number },
  ): ReviewComment;
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
  deliver(
    event: string,
    payload: object,
    opts?: { deliveryId?: string; secret?: string; validate?: boolean },
  ): Promise<{ status: number; body: string; deliveryId: string }>;
  payloads: WebhookPayloads;
  close(): Promise<void>;
};

const defaultPermissions = {
  metadata: "read",
  contents: "write",
  issues: "write",
  pull_requests: "write",
  checks: "write",
};
const levels: Record<string, number> = { read: 1, write: 2, admin: 3 };
const handlers: Record<string, RouteHandler> = { ...appRoutes, ...repoRoutes, ...issueRoutes, ...pullRoutes };

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
    void handleRest(req, res, url).catch((error: unknown) => {
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

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const path = normalizePath(url.pathname);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const record: RecordedRequest = { method, path: url.pathname, status: 0 };
    const violate = (kind: ViolationKind, detail: string) =>
      violations.push({ method, path: url.pathname + url.search, kind, detail });
    const send = (result: RouteResult) => {
      record.status = result.status;
      requests.push(record);
      writeResult(res, result);
    };

    const { route } = matchDocumentedRoute(openApi.documented, method, path);
    if (route === undefined) {
      violate("undocumented", `GitHub's REST description has no ${method} ${path}`);
      return send(githubError(404, "Not Found"));
    }
    record.operationId = route.operationId;
    const rule = implementedOperations[route.operationId];
    const handler = handlers[route.operationId];
    if (rule === undefined || handler === undefined) {
      violate(
        "unimplemented",
        `${route.operationId} (${method} ${route.template}) is not implemented by the stand-in`,
      );
      return send(githubError(404, "Not Found"));
    }
    if (req.headers["user-agent"] === undefined) {
      violate("invalid", "no User-Agent header; GitHub refuses such requests");
      return send(
        githubError(
          403,
          "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        ),
      );
    }

    // 1. Credentials, as GitHub checks them before anything else.
    const authorization = req.headers.authorization ?? "";
    const credential = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization)?.[1];
    const token = credential === undefined ? undefined : state.tokens.find((t) => t.token === credential);
    if (token !== undefined) record.token = token.token;
    let actor: User = core.app.bot;
    if (rule.auth === "jwt") {
      if (credential === undefined || token !== undefined || !/^bearer /i.test(authorization)) {
        violate("unauthorized", `${route.operationId} needs the app JWT as "Authorization: Bearer <jwt>"`);
        return send(githubError(401, "A JSON web token could not be decoded"));
      }
      const check = verifyAppJwt(credential, publicKey, opts.appId, Math.floor(Date.now() / 1000));
      if (!check.ok) {
        violate("unauthorized", `app JWT refused: ${check.message}`);
        return send(githubError(401, check.message));
      }
      record.actor = `app:${slug}`;
      actor = core.app.owner;
    } else {
      if (credential === undefined) {
        violate("unauthorized", `${route.operationId} sent without credentials`);
        return send(githubError(401, "Requires authentication"));
      }
      if (token === undefined || token.expiresAt.getTime() <= Date.now()) {
        violate(
          "unauthorized",
          token === undefined
            ? "not an installation token the stand-in minted"
            : "the installation token has expired",
        );
        return send(githubError(401, "Bad credentials"));
      }
      record.actor = core.app.bot.login;
    }

    // 2. Routing and validation by openapi-backend, against GitHub's description.
    const apiRequest = {
      method: method.toLowerCase(),
      path,
      query: url.search.slice(1),
      headers: req.headers as Record<string, string | string[]>,
      body: rawBody,
    };
    const operation = openApi.backend.router.matchOperation(apiRequest);
    if (operation?.operationId !== route.operationId) {
      throw new Error(
        `openapi-backend routed ${method} ${path} to ${String(operation?.operationId)}, not ${route.operationId}`,
      );
    }
    let body: Record<string, unknown> = {};
    if (rawBody !== "") {
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        violate("invalid", "the body is not JSON");
        return send(githubError(400, "Problems parsing JSON"));
      }
    }
    const validation = openApi.backend.validateRequest({ ...apiRequest, body }, operation);
    const unknownFields = findUnknownFields(operation, url.searchParams, body);
    if (!validation.valid || unknownFields.length > 0) {
      const problems = [
        ...(validation.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`),
        ...unknownFields,
      ];
      violate("invalid", `${route.operationId}: ${problems.join("; ")}`);
      return send(
        githubError(422, `Invalid request.\n\n${problems.join("\n")}`, {
          documentationUrl: "https://docs.github.com/rest",
        }),
      );
    }
    const parsed = openApi.backend.router.parseRequest(apiRequest, operation);
    const params = Object.fromEntries(
      Object.entries(parsed.params).map(([key, value]) => [key, decodeURIComponent(String(value))]),
    );
    const query = Object.fromEntries(url.searchParams.entries());

    // 3. The token's reach: repository scope, then permission.
    let repo: Repo | undefined;
    if (
      rule.auth === "token" &&
      token !== undefined &&
      params.owner !== undefined &&
      params.repo !== undefined
    ) {
      repo = core.findRepo(params.owner, params.repo);
      // A repository that does not exist is an ordinary 404 (Probot looks for `owner/.github`).
      if (repo === undefined) return send(githubError(404, "Not Found"));
      if (!token.repositoryIds.includes(repo.id)) {
        violate("unauthorized", `the installation token does not cover ${repo.fullName}`);
        return send(githubError(404, "Not Found"));
      }
      if (rule.permission !== undefined && !permits(token.permissions, rule.permission, params, repo)) {
        violate(
          "unauthorized",
          `${route.operationId} needs ${rule.permission.name}: ${rule.permission.level}; the token has ${JSON.stringify(token.permissions)}`,
        );
        return send(githubError(403, "Resource not accessible by integration"));
      }
    }

    const call: RouteCall = {
      core,
      operationId: route.operationId,
      params,
      query,
      body,
      headers: req.headers,
      repo,
      token,
      actor,
    };
    const result = await handler(call);
    if (opts.validateResponses !== false && result.status < 300 && result.body !== undefined) {
      const check = openApi.backend.validateResponse(result.body, operation, result.status);
      if (!check.valid) {
        violate(
          "response",
          `${route.operationId} ${result.status}: ${(check.errors ?? [])
            .slice(0, 10)
            .map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`)
            .join("; ")}`,
        );
      }
    }
    send(result);
  }

  function permits(
    has: Record<string, string>,
    need: NonNullable<(typeof implementedOperations)[string]["permission"]>,
    params: Record<string, string>,
    repo: Repo,
  ): boolean {
    const enough = (name: string) => (levels[has[name] ?? ""] ?? 0) >= (levels[need.level] ?? 99);
    if (enough(need.name)) return true;
    if (need.alsoPulls !== true || !enough("pull_requests")) return false;
    // GitHub lets `pull_requests` stand in for `issues` when the issue is a pull request.
    let number = params.issue_number === undefined ? undefined : Number(params.issue_number);
    if (number === undefined && params.comment_id !== undefined) {
      number = state.comments.find(
        (c) => c.repo === repo.fullName && c.id === Number(params.comment_id),
      )?.issueNumber;
    }
    if (number === undefined) return params.comment_id === undefined;
    return state.issues.some((i) => i.repo === repo.fullName && i.number === number && i.isPull);
  }

  const payloads = createWebhookPayloads(core);
  const repoByName = (fullName: string): Repo => {
    const repo = state.repos.get(fullName.toLowerCase());
    if (repo === undefined) throw new Error(`no stand-in repository ${fullName}: createRepo it first`);
    return repo;
  };

  return {
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
      const now = core.nowIso();
      const number = state.issues.filter((i) => i.repo === repo.fullName).length + 1;
      const issue: Issue = {
        id: core.nextId(),
        repo: repo.fullName,
        number,
        title: seed.title,
        body: seed.body ?? null,
        user: seed.user,
        labels: [],
        state: "open",
        stateReason: null,
        isPull: true,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
      };
      state.issues.push(issue);
      const pull: Pull = createPullRecord(issue, {
        id: core.nextId(),
        repo: repo.fullName,
        number,
        head: seed.head,
        base: baseBranch,
        headSha,
        baseSha,
        draft: seed.draft ?? false,
        maintainerCanModify: true,
        merged: false,
      });
      state.pulls.push(pull);
      return pull;
    },
    addReviewComment: (repoFullName, pullNumber, seed) => {
      const repo = repoByName(repoFullName);
      const pull = state.pulls.find((p) => p.repo === repo.fullName && p.number === pullNumber);
      if (pull === undefined) throw new Error(`no pull request ${repo.fullName}#${pullNumber}`);
      core.ensureUser(seed.user);
      const now = core.nowIso();
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
        path: seed.path,
        line: seed.line ?? 1,
        side: "RIGHT",
        commitId: pull.headSha,
        inReplyToId: null,
        createdAt: now,
        updatedAt: now,
      };
      state.reviewComments.push(comment);
      return comment;
    },
    readBranch: (repoFullName, branch) => readBranchSnapshot(repoByName(repoFullName).gitDir, branch),
    state,
    requests,
    gitRequests: state.gitRequests,
    violations,
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
    payloads,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsTmp) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Octokit sends a contents path with its slashes escaped; a raw client might not. */
function normalizePath(pathname: string): string {
  let path = pathname.length > 1 ? pathname.replace(/\/+$/, "") : pathname;
  const contents = /^(\/repos\/[^/]+\/[^/]+\/contents\/)(.+)$/.exec(path);
  if (contents !== null) path = `${contents[1]}${(contents[2] ?? "").replace(/\//g, "%2F")}`;
  return path;
}

/**
 * GitHub ignores parameters it does not know, which hides typos (`bodyy`, `per-page`);
 * the stand-in treats them as invalid so such a request fails a test.
 */
function findUnknownFields(
  operation: { parameters?: unknown[]; requestBody?: unknown },
  search: URLSearchParams,
  body: Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  const queryNames = new Set(
    (operation.parameters ?? [])
      .map((p) => p as { in?: string; name?: string })
      .filter((p) => p.in === "query")
      .map((p) => p.name),
  );
  for (const name of new Set(search.keys())) {
    if (!queryNames.has(name)) problems.push(`query parameter "${name}" is not documented for this route`);
  }
  const schema = (operation.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)
    ?.content?.["application/json"]?.schema;
  if (schema !== undefined && !Array.isArray(body)) {
    const known = collectPropertyNames(schema);
    if (known !== undefined) {
      for (const name of Object.keys(body)) {
        if (!known.has(name)) problems.push(`body property "${name}" is not documented for this route`);
      }
    }
  }
  return problems;
}

function collectPropertyNames(schema: unknown): Set<string> | undefined {
  const node = schema as { properties?: object; oneOf?: unknown[]; anyOf?: unknown[]; allOf?: unknown[] };
  if (node.properties !== undefined) return new Set(Object.keys(node.properties));
  const branches = [...(node.oneOf ?? []), ...(node.anyOf ?? []), ...(node.allOf ?? [])];
  if (branches.length === 0) return undefined;
  const names = new Set<string>();
  for (const branch of branches) {
    const inner = collectPropertyNames(branch);
    if (inner === undefined) return undefined;
    for (const name of inner) names.add(name);
  }
  return names;
}

function writeResult(res: ServerResponse, result: RouteResult): void {
  const headers: Record<string, string> = {
    "x-github-media-type": "github.v3; format=json",
    "x-github-request-id": `${randomInt(0x10000, 0xfffff).toString(16).toUpperCase()}:STANDIN`,
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4999",
    "x-ratelimit-used": "1",
    "x-ratelimit-resource": "core",
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
    ...result.headers,
  };
  if (result.raw !== undefined) {
    res.writeHead(result.status, headers).end(result.raw);
    return;
  }
  if (result.body === undefined) {
    res.writeHead(result.status, headers).end();
    return;
  }
  headers["content-type"] = "application/json; charset=utf-8";
  res.writeHead(result.status, headers).end(JSON.stringify(result.body));
}
