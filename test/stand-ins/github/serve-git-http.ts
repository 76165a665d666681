import type { IncomingMessage, ServerResponse } from "node:http";
import { runGitHttpBackend } from "../../helpers/run-git-http-backend.ts";
import type { GitHubState, InstallationToken, Repo } from "./github-state.ts";

/**
 * Smart-HTTP git for `/git/<owner>/<repo>.git/...`, as GitHub serves it to an app: Basic
 * auth whose password is an installation token (`x-access-token:<token>`); reading needs
 * a live token whose repositories include this one, pushing also needs `contents: write`.
 * Anything else is a 401 with a Basic challenge (git retries anonymous requests with
 * credentials after it, so an anonymous 401 is normal and not a violation).
 */
export type GitRefusal = { repo: string; service: string; detail: string };

export function serveGitHttp(opts: {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  state: GitHubState;
  projectRoot: string;
  onRefusal: (refusal: GitRefusal) => void;
}): void {
  const { req, res, url, state } = opts;
  const match = /^\/git\/([^/]+)\/([^/]+?)\.git(\/.*)$/.exec(url.pathname);
  const challenge = () => {
    res.writeHead(401, { "WWW-Authenticate": 'Basic realm="GitHub"', "content-type": "text/plain" });
    res.end("Invalid username or token. Password authentication is not supported for Git operations.\n");
  };
  if (match === null) {
    res.writeHead(404, { "content-type": "text/plain" }).end("Repository not found.\n");
    return;
  }
  const [, owner = "", name = "", rest = ""] = match;
  const repo: Repo | undefined = state.repos.get(`${owner}/${name}`.toLowerCase());
  const service =
    rest.endsWith("/git-receive-pack") || url.searchParams.get("service") === "git-receive-pack"
      ? ("git-receive-pack" as const)
      : ("git-upload-pack" as const);
  const repoName = repo?.fullName ?? `${owner}/${name}`;
  const auth = req.headers.authorization ?? "";
  if (!auth.startsWith("Basic ")) {
    state.gitRequests.push({ service, repo: repoName, status: 401 });
    challenge();
    return;
  }
  const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
  const password = decoded.slice(decoded.indexOf(":") + 1);
  const token: InstallationToken | undefined = state.tokens.find((t) => t.token === password);
  const refuse = (detail: string) => {
    state.gitRequests.push({ service, repo: repoName, token: password, status: 401 });
    opts.onRefusal({ repo: repoName, service, detail });
    challenge();
  };
  if (token === undefined) return refuse("the password is not an installation token the stand-in minted");
  if (token.expiresAt.getTime() <= Date.now()) return refuse("the installation token has expired");
  if (repo === undefined || !token.repositoryIds.includes(repo.id)) {
    return refuse(`the installation token does not cover ${repoName}`);
  }
  if (service === "git-receive-pack" && token.permissions.contents !== "write") {
    return refuse(
      `pushing needs contents: write; the token has contents: ${token.permissions.contents ?? "none"}`,
    );
  }
  if (!/^\/(info\/refs|git-upload-pack|git-receive-pack)$/.test(rest)) {
    res.writeHead(404, { "content-type": "text/plain" }).end("Not Found\n");
    return;
  }
  void runGitHttpBackend({
    req,
    projectRoot: opts.projectRoot,
    pathInfo: `/${repo.owner.login}/${repo.name}.git${rest}`,
    query: url.search.slice(1),
    user: "x-access-token",
  }).then(({ status, headers, body }) => {
    state.gitRequests.push({ service, repo: repo.fullName, token: token.token, status });
    res.writeHead(status, headers).end(body);
  });
}
