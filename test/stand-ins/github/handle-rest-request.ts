import type { KeyObject } from "node:crypto";
import { randomInt } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { actionsRoutes } from "./actions-routes.ts";
import { appRoutes } from "./app-routes.ts";
import { implementedOperations } from "./github-operations.ts";
import type { GitHubState, Repo, User } from "./github-state.ts";
import { issueRoutes } from "./issue-routes.ts";
import { matchDocumentedRoute, type GitHubOpenApi } from "./load-github-openapi.ts";
import { pullRoutes } from "./pull-routes.ts";
import { repoRoutes } from "./repo-routes.ts";
import {
  githubError,
  type RouteCall,
  type RouteHandler,
  type RouteResult,
  type StandInCore,
} from "./stand-in-core.ts";
import { verifyAppJwt } from "./verify-app-jwt.ts";

/**
 * One REST request, in GitHub's order: documented route? implemented? credentials; then
 * openapi-backend routing and validation; then the token's repository scope and permission;
 * then the handler (and, by default, its answer checked against the response schema).
 * Every refusal GitHub would make is made, and recorded as a violation.
 */
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

export type RestContext = {
  openApi: GitHubOpenApi;
  core: StandInCore;
  requests: RecordedRequest[];
  violations: Violation[];
  publicKey: KeyObject;
  appId: number;
  validateResponses: boolean;
};

const levels: Record<string, number> = { read: 1, write: 2, admin: 3 };
const handlers: Record<string, RouteHandler> = {
  ...appRoutes,
  ...repoRoutes,
  ...issueRoutes,
  ...pullRoutes,
  ...actionsRoutes,
};

export async function handleRestRequest(
  ctx: RestContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const { openApi, core, requests, violations } = ctx;
  const { state } = core;
  const slug = core.app.slug;
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
    const check = verifyAppJwt(credential, ctx.publicKey, ctx.appId, Math.floor(Date.now() / 1000));
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
    if (token.workflowRunId !== undefined) {
      actor = core.ensureUser("github-actions[bot]", "Bot");
      record.actor = actor.login;
    }
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
    if (rule.permission !== undefined && !permits(state, token.permissions, rule.permission, params, repo)) {
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
  if (ctx.validateResponses && result.status < 300 && result.body !== undefined) {
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
  state: GitHubState,
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
