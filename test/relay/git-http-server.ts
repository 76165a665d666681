import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type GitHttpServer = {
  url: string;
  /** Every Authorization header received, in order ("" when absent). */
  authorizations: string[];
  close(): Promise<void>;
};

/**
 * A smart-HTTP git server for tests: `git http-backend` behind Basic auth, like a
 * forge. `failPushes` answers every push with a 500 so error paths can be checked.
 */
export async function startGitHttpServer(opts: {
  projectRoot: string;
  username: string;
  password: string;
  failPushes?: boolean;
}): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  const authorizations: string[] = [];
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? "";
    authorizations.push(auth);
    if (auth !== expected) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="test"' }).end("unauthorized\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const isPush =
      url.pathname.endsWith("git-receive-pack") || url.searchParams.get("service") === "git-receive-pack";
    if (opts.failPushes === true && isPush) {
      res.writeHead(500).end("push refused by the test server\n");
      return;
    }
    serveWithBackend(req, url, opts.projectRoot, opts.username, (status, headers, body) => {
      res.writeHead(status, headers).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function serveWithBackend(
  req: IncomingMessage,
  url: URL,
  projectRoot: string,
  user: string,
  reply: (status: number, headers: Record<string, string>, body: Buffer) => void,
): void {
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      REMOTE_USER: user,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  req.pipe(child.stdin);
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  child.on("close", () => {
    const out = Buffer.concat(chunks);
    const split = out.indexOf("\r\n\r\n");
    const head = out.subarray(0, Math.max(split, 0)).toString("latin1");
    const headers: Record<string, string> = {};
    let status = 200;
    for (const line of head.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else headers[name] = value;
    }
    reply(status, headers, split < 0 ? Buffer.alloc(0) : out.subarray(split + 4));
  });
}
