import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Logger } from "../../core/logger.ts";
import type { GitCredentials } from "./git-credentials.ts";
import { redactCredentials } from "./redact-credentials.ts";
import { RelayError } from "./relay-error.ts";

export type GitAuth = { credentials: GitCredentials; httpOrigin: string };

export type GitRunOptions = {
  /** The repository git works on; always explicit so git never discovers one from cwd. */
  gitDir?: string | undefined;
  cwd?: string | undefined;
  input?: string | Buffer | undefined;
  /** Sent as an Authorization header to this origin only, for this one command. */
  auth?: GitAuth | undefined;
  /** Extra environment for this command (e.g. GIT_INDEX_FILE, author identity). */
  env?: Record<string, string> | undefined;
  /** Exit codes that are answers rather than failures (e.g. 1 for `rev-parse --verify --quiet`). */
  okExitCodes?: readonly number[] | undefined;
  timeoutMs?: number | undefined;
};

export type GitResult = { stdout: Buffer; stderr: string; exitCode: number };

export type GitRunner = {
  /** The throwaway HOME of this runner's commands; removed by close(). */
  home: string;
  run(args: readonly string[], options?: GitRunOptions): Promise<GitResult>;
  /** For streaming output (git archive); the caller owns the process. */
  spawn(args: readonly string[], options?: GitRunOptions): ChildProcessByStdio<Writable, Readable, Readable>;
  close(): Promise<void>;
};

/**
 * Settings forced on every git command. The host clone's content comes from the
 * repository and the workspace from the agent: neither may make the host run a program.
 * - hooksPath=/dev/null: no hook (post-commit, pre-push, reference-transaction…) runs.
 * - fsmonitor=false: a planted `core.fsmonitor` is a command git would execute.
 * - protocol.allow=never + a short allow list: `ext::` and friends run commands.
 * - credential.helper= : no helper from anywhere is asked (credentials come per command).
 */
const hardeningConfig = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "core.untrackedCache=false",
  "core.autocrlf=false",
  "core.symlinks=true",
  "credential.helper=",
  "protocol.allow=never",
  "protocol.https.allow=always",
  "protocol.http.allow=always",
  "protocol.ssh.allow=always",
  "protocol.git.allow=always",
  "protocol.file.allow=always",
  "gc.auto=0",
  "maintenance.auto=false",
  "advice.detachedHead=false",
  "init.defaultBranch=main",
];

/** Variables from the parent worth keeping; every GIT_* variable is dropped on purpose. */
const inheritedVariables = ["PATH", "SSH_AUTH_SOCK", "TMPDIR", "http_proxy", "https_proxy", "no_proxy"];

/**
 * The one place Airlock runs git (like actions/checkout's git-command-manager): argv
 * arrays, never a shell; a clean environment with no system or global config and a
 * throwaway HOME; credentials only in the environment of the command that needs them,
 * and redacted from anything that comes back.
 */
export async function openGitRunner(opts: { logger: Logger; gitCommand?: string }): Promise<GitRunner> {
  const gitCommand = opts.gitCommand ?? "git";
  const home = await mkdtemp(join(tmpdir(), "airlock-git-home-"));

  function buildEnv(options: GitRunOptions): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of inheritedVariables) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, {
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      LC_ALL: "C",
      LANG: "C",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_TERMINAL_PROMPT: "0",
      GIT_ASKPASS: "/bin/false",
      SSH_ASKPASS: "/bin/false",
      GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
      GIT_NO_REPLACE_OBJECTS: "1",
      GIT_OPTIONAL_LOCKS: "0",
      GIT_PROTOCOL_FROM_USER: "0",
    });
    if (options.gitDir !== undefined) env.GIT_DIR = options.gitDir;
    if (options.env !== undefined) Object.assign(env, options.env);
    if (options.auth !== undefined) {
      const { username, password } = options.auth.credentials;
      const basic = Buffer.from(`${username}:${password}`).toString("base64");
      // Scoped to the remote's origin so a redirect to another host does not carry it.
      env.GIT_CONFIG_COUNT = "1";
      env.GIT_CONFIG_KEY_0 = `http.${options.auth.httpOrigin}.extraHeader`;
      env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
    }
    return env;
  }

  function argvFor(args: readonly string[]): string[] {
    return [...hardeningConfig.flatMap((c) => ["-c", c]), ...args];
  }

  function spawnGit(args: readonly string[], options: GitRunOptions = {}) {
    return spawn(gitCommand, argvFor(args), {
      cwd: options.cwd ?? home,
      env: buildEnv(options),
      stdio: ["pipe", "pipe", "pipe"],
      shell: false,
    });
  }

  async function run(args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
    const subcommand = args[0] ?? "";
    const credentials = options.auth?.credentials;
    const child = spawnGit(args, options);
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 65536) stderr += chunk.toString("utf8");
    });
    child.stdin.on("error", () => {
      // git may exit before reading all input; its exit code tells what happened.
    });
    child.stdin.end(options.input ?? "");
    const timeoutMs = options.timeoutMs ?? 600_000;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const exitCode = await new Promise<number>((resolvePromise, reject) => {
      child.on("error", (error) =>
        reject(
          new RelayError(`Could not start ${gitCommand}: is git installed on the host?`, { cause: error }),
        ),
      );
      child.on("close", (code, signal) => resolvePromise(code ?? (signal !== null ? 128 : 1)));
    }).finally(() => clearTimeout(timer));
    const ok = exitCode === 0 || (options.okExitCodes ?? []).includes(exitCode);
    opts.logger.debug({ git: subcommand, exitCode }, "git finished");
    if (!ok) {
      const detail = redactCredentials(stderr.trim().slice(-2000), credentials);
      const shown = redactCredentials(args.join(" ").slice(0, 300), credentials);
      throw new RelayError(`git ${shown} failed with exit code ${exitCode}: ${detail || "(no output)"}`);
    }
    return { stdout: Buffer.concat(stdout), stderr: redactCredentials(stderr, credentials), exitCode };
  }

  return {
    home,
    run,
    spawn: spawnGit,
    async close() {
      await rm(home, { recursive: true, force: true });
    },
  };
}
