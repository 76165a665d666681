import type { GitHubState, InstallationToken, Issue, Label, Repo, User, UserType } from "./github-state.ts";
import type { Urls } from "./render-github-resources.ts";

/**
 * What every REST handler gets: the shared state, the stand-in's URLs and identity, and
 * small lookups. Built once per stand-in by `startGitHubStandIn`.
 */
export type StandInCore = {
  state: GitHubState;
  urls: Urls;
  app: { id: number; slug: string; owner: User; bot: User };
  nextId(): number;
  nowIso(): string;
  ensureUser(login: string, type?: UserType): User;
  findRepo(owner: string, name: string): Repo | undefined;
  openIssueCount(repo: Repo): number;
  labelsOf(issue: Issue): Label[];
};

export type RouteCall = {
  core: StandInCore;
  operationId: string;
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  /** Set on repository routes once the token was checked against it. */
  repo: Repo | undefined;
  /** The installation token used, on token routes. */
  token: InstallationToken | undefined;
  /** Who GitHub would record as the author of a write: the app's bot on token routes. */
  actor: User;
};

export type RouteResult = {
  status: number;
  body?: unknown;
  /** Sent as-is instead of JSON (the contents API's raw media type). */
  raw?: Buffer;
  headers?: Record<string, string>;
};

export type RouteHandler = (call: RouteCall) => RouteResult | Promise<RouteResult>;

export function createStandInCore(opts: {
  state: GitHubState;
  urls: Urls;
  appId: number;
  appSlug: string;
}): StandInCore {
  let lastId = 1000;
  const nextId = () => ++lastId;
  const ensureUser = (login: string, type: UserType = "User"): User => {
    const existing = opts.state.users.get(login.toLowerCase());
    if (existing !== undefined) return existing;
    const user: User = { login, id: nextId(), type };
    opts.state.users.set(login.toLowerCase(), user);
    return user;
  };
  const owner = ensureUser(`${opts.appSlug}-owner`, "Organization");
  const bot = ensureUser(`${opts.appSlug}[bot]`, "Bot");
  return {
    state: opts.state,
    urls: opts.urls,
    app: { id: opts.appId, slug: opts.appSlug, owner, bot },
    nextId,
    nowIso: () => new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    ensureUser,
    findRepo: (owner, name) => opts.state.repos.get(`${owner}/${name}`.toLowerCase()),
    openIssueCount: (repo) =>
      opts.state.issues.filter((issue) => issue.repo === repo.fullName && issue.state === "open").length,
    labelsOf: (issue) =>
      issue.labels
        .map((name) =>
          opts.state.labels.find(
            (label) => label.repo === issue.repo && label.name.toLowerCase() === name.toLowerCase(),
          ),
        )
        .filter((label): label is Label => label !== undefined),
  };
}

export function githubError(
  status: number,
  message: string,
  extra: { errors?: unknown[]; documentationUrl?: string } = {},
): RouteResult {
  const body: Record<string, unknown> = { message };
  if (extra.errors !== undefined) body.errors = extra.errors;
  body.documentation_url = extra.documentationUrl ?? "https://docs.github.com/rest";
  body.status = String(status);
  return { status, body };
}

export const notFound = (): RouteResult => githubError(404, "Not Found");

/** GitHub's page/per_page slicing with a Link header, so Octokit's paginate walks it. */
export function paginate(call: RouteCall, items: unknown[], path: string): RouteResult {
  const perPage = Math.min(Number(call.query.per_page ?? 30), 100);
  const page = Math.max(Number(call.query.page ?? 1), 1);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const link = (n: number, rel: string) => {
    const url = new URL(`${call.core.urls.api}${path}`);
    for (const [key, value] of Object.entries(call.query)) url.searchParams.set(key, String(value));
    url.searchParams.set("per_page", String(perPage));
    url.searchParams.set("page", String(n));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
  if (page > 1) links.push(link(1, "first"), link(page - 1, "prev"));
  return { status: 200, body: slice, headers: links.length > 0 ? { link: links.join(", ") } : {} };
}
