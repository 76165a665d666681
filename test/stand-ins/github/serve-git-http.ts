import { spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
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
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_PROJECT_ROOT: opts.projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      REMOTE_USER: "x-access-token",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: `/${repo.owner.login}/${repo.name}.git${rest}`,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  req.pipe(child.stdin);
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.on("close", () => {
    const out = Buffer.concat(chunks);
    const split = out.indexOf("\r\n\r\n");
    const head = out.subarray(0, Math.max(split, 0)).toString("latin1");
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of head.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const key = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else headers[key] = value;
    }
    state.gitRequests.push({ service, repo: repo.fullName, token: token.token, status });
    res.writeHead(status, headers).end(split < 0 ? Buffer.alloc(0) : out.subarray(split + 4));
  });
}
