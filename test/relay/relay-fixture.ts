import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pino from "pino";
import type { RelayPolicy } from "../../runner/relay/relay-workspace.ts";

export const silentLogger = pino({ level: "silent" });

export const defaultPolicy: RelayPolicy = {
  allowWorkflowChanges: false,
  maxFiles: 100,
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024,
};

/** git for the test's own fixtures, isolated from the machine's config like the code under test. */
export function git(cwd: string, args: string[], input?: string): string {
  return execFileSync("git", ["-c", "gc.auto=0", ...args], {
    cwd,
    input,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Maintainer",
      GIT_AUTHOR_EMAIL: "maintainer@example.com",
      GIT_COMMITTER_NAME: "Maintainer",
      GIT_COMMITTER_EMAIL: "maintainer@example.com",
    },
  });
}

export type SourceFile = string | { content: string; executable: boolean };

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `airlock-relay-${prefix}-`));
}

/** A non-bare repository with one commit on `main` holding `files`. */
export async function createSourceRepo(dir: string, files: Record<string, SourceFile>): Promise<string> {
  await mkdir(dir, { recursive: true });
  git(dir, ["init", "--quiet", "--initial-branch=main"]);
  for (const [path, file] of Object.entries(files)) {
    const absolute = join(dir, path);
    await mkdir(dirname(absolute), { recursive: true });
    const content = typeof file === "string" ? file : file.content;
    await writeFile(absolute, content);
    if (typeof file !== "string" && file.executable) await chmod(absolute, 0o755);
  }
  git(dir, ["add", "--all"]);
  git(dir, ["commit", "--quiet", "-m", "Initial commit"]);
  return dir;
}

/** A bare copy of `source`, as a server would hold it. */
export function createBareRemote(source: string, dir: string): string {
  git(dirname(source), ["clone", "--quiet", "--bare", source, dir]);
  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** path → "mode type oid" for every entry of `rev` (recursive). */
export function listTree(repo: string, rev: string): Map<string, { mode: string; oid: string }> {
  const out = new Map<string, { mode: string; oid: string }>();
  for (const record of git(repo, ["ls-tree", "-r", "-z", rev]).split("\0")) {
    if (record === "") continue;
    const [meta = "", path = ""] = record.split("\t");
    const [mode = "", , oid = ""] = meta.split(" ");
    out.set(path, { mode, oid });
  }
  return out;
}
