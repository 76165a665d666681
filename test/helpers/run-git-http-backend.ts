import { spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";

export interface GitBackendReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One request answered by `git http-backend` (real git over smart HTTP), as a forge would:
 * the caller has already checked the credentials; git sees only the CGI variables below
 * and no system or global config.
 */
export function runGitHttpBackend(opts: {
  req: IncomingMessage;
  projectRoot: string;
  /** `/<path below projectRoot>.git/<service path>` */
  pathInfo: string;
  query: string;
  user: string;
}): Promise<GitBackendReply> {
  const { req } = opts;
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_PROJECT_ROOT: opts.projectRoot,
      GIT_HTTP_EXPORT_ALL: "1",
      REMOTE_USER: opts.user,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: opts.pathInfo,
      QUERY_STRING: opts.query,
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  req.pipe(child.stdin);
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
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
      resolve({ status, headers, body: split < 0 ? Buffer.alloc(0) : out.subarray(split + 4) });
    });
  });
}
