import { execFile, execFileSync } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * git for the tests' own fixtures, isolated from the machine's config like the code under
 * test: no system or global config, HOME at the repository, a fixed author, no prompts.
 */
function gitEnvironment(cwd: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: cwd,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "Maintainer",
    GIT_AUTHOR_EMAIL: "maintainer@example.com",
    GIT_COMMITTER_NAME: "Maintainer",
    GIT_COMMITTER_EMAIL: "maintainer@example.com",
  };
}

/** Runs git in `cwd` and returns its stdout as is (blob contents keep their last newline); throws on failure. */
export function git(cwd: string, args: readonly string[], input?: string): string {
  return execFileSync("git", ["-c", "gc.auto=0", ...args], {
    cwd,
    input,
    encoding: "utf8",
    env: gitEnvironment(cwd),
  });
}

/** Runs git in `cwd` and reports how it ended instead of throwing: for refusals a test expects. */
export function tryGit(
  cwd: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("git", [...args], { cwd, env: gitEnvironment(cwd) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export type SourceFile = string | { content: string; executable: boolean };

/** A non-bare repository at `dir` with one commit on `main` holding `files`. */
export async function createSourceRepo(
  dir: string,
  files: Record<string, SourceFile>,
  message = "Initial commit",
): Promise<string> {
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
  git(dir, ["commit", "--quiet", "-m", message]);
  return dir;
}

/** A bare copy of `source`, as a server would hold it. */
export function createBareRemote(source: string, dir: string): string {
  git(dirname(source), ["clone", "--quiet", "--bare", source, dir]);
  return dir;
}

/** path → mode and object id for every entry of `rev` (recursive). */
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
