import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { runGitHttpBackend } from "../helpers/run-git-http-backend.ts";

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
    void runGitHttpBackend({
      req,
      projectRoot: opts.projectRoot,
      pathInfo: decodeURIComponent(url.pathname),
      query: url.search.slice(1),
      user: opts.username,
    }).then(({ status, headers, body }) => res.writeHead(status, headers).end(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
