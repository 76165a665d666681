import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "../../core/logger.ts";
import type { GitCredentials } from "./git-credentials.ts";
import { parseGitRemote } from "./parse-git-remote.ts";

/**
 * Asks the operator's own git credential helpers (`git credential fill`, with their
 * global config) for an http(s) remote's credentials, so `airlock run --repo <url>`
 * pushes as the operator without Airlock storing anything. Runs in an empty folder with
 * discovery stopped above it: no repository's config (least of all the workspace's)
 * can choose the helper. Never prompts. Undefined when no helper answers or the remote
 * is not http(s).
 */
export async function fillOperatorCredentials(opts: {
  remote: string;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}): Promise<GitCredentials | undefined> {
  const remote = parseGitRemote(opts.remote);
  if (remote.embeddedCredentials !== undefined) return remote.embeddedCredentials;
  if (remote.httpOrigin === undefined) return undefined;
  const url = new URL(remote.location);
  const cwd = await mkdtemp(join(tmpdir(), "airlock-credential-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(opts.env ?? process.env)) {
    if (!name.startsWith("GIT_") || name === "GIT_CONFIG_GLOBAL" || name === "GIT_CONFIG_NOSYSTEM")
      env[name] = value;
  }
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: "0",
    GIT_CEILING_DIRECTORIES: dirname(cwd),
    GIT_ASKPASS: "/bin/false",
  });
  try {
    const child = spawn("git", ["credential", "fill"], {
      cwd,
      env,
      stdio: ["pipe", "pipe", "ignore"],
      shell: false,
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stdin.on("error", () => {
      // git exiting early surfaces through its exit code.
    });
    child.stdin.end(
      `protocol=${url.protocol.slice(0, -1)}\nhost=${url.host}\npath=${url.pathname.slice(1)}\n\n`,
    );
    const code = await new Promise<number>((resolve) => {
      child.on("error", () => resolve(127));
      child.on("close", (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      opts.logger.info({ host: url.host }, "no git credential helper answered for the remote");
      return undefined;
    }
    const fields = new Map<string, string>();
    for (const line of Buffer.concat(chunks).toString("utf8").split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
    }
    const username = fields.get("username") ?? "";
    const password = fields.get("password") ?? "";
    if (username === "" || password === "") return undefined;
    opts.logger.info({ host: url.host }, "using the operator's git credentials for the remote");
    return { username, password };
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}
