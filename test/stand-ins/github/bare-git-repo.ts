import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * The git side of a stand-in repository: a bare repo on disk, read and seeded with the git
 * CLI (the same bytes `git http-backend` serves), so the contents API and `readBranch`
 * see exactly what a push wrote.
 */
const isolatedEnv = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Stand-in",
  GIT_AUTHOR_EMAIL: "stand-in@example.invalid",
  GIT_COMMITTER_NAME: "Stand-in",
  GIT_COMMITTER_EMAIL: "stand-in@example.invalid",
};

export function runGit(gitDir: string, args: string[], env: Record<string, string> = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      ["--git-dir", gitDir, ...args],
      { env: { ...isolatedEnv, ...env }, encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`git ${args.join(" ")} failed: ${stderr.toString().trim()}`, { cause: error }));
        else resolve(stdout);
      },
    );
  });
}

export async function createBareRepo(opts: {
  gitDir: string;
  defaultBranch: string;
  files: Record<string, string>;
  scratchRoot: string;
}): Promise<string> {
  await mkdir(opts.gitDir, { recursive: true });
  await runGit(opts.gitDir, ["init", "--bare", "--quiet", `--initial-branch=${opts.defaultBranch}`]);
  const work = await mkdtemp(join(opts.scratchRoot, "seed-"));
  try {
    const files = Object.keys(opts.files).length > 0 ? opts.files : { "README.md": "# test repository\n" };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
    }
    const withTree = ["--work-tree", work];
    await runGit(opts.gitDir, [...withTree, "add", "--all"]);
    await runGit(opts.gitDir, [...withTree, "commit", "--quiet", "-m", "Initial commit"]);
  } finally {
    await rm(work, { recursive: true, force: true });
    // `git add` with a work tree leaves an index in the bare repo; a forge has none.
    await rm(join(opts.gitDir, "index"), { force: true });
  }
  return resolveCommit(opts.gitDir, opts.defaultBranch) as Promise<string>;
}

/** The commit sha a branch, tag or sha names, or undefined when it names nothing. */
export async function resolveCommit(gitDir: string, ref: string): Promise<string | undefined> {
  if (ref.startsWith("-")) return undefined;
  try {
    const out = await runGit(gitDir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    return out.toString().trim();
  } catch {
    return undefined;
  }
}

export async function branchExists(gitDir: string, branch: string): Promise<boolean> {
  if (branch.startsWith("-")) return false;
  try {
    await runGit(gitDir, ["show-ref", "--verify", "--quiet", `refs/heads/${branch}`]);
    return true;
  } catch {
    return false;
  }
}

export type GitEntry =
  | { type: "file"; sha: string; content: Buffer }
  | {
      type: "dir";
      sha: string;
      entries: { type: "file" | "dir"; name: string; sha: string; size: number }[];
    };

export async function readPath(gitDir: string, commit: string, path: string): Promise<GitEntry | undefined> {
  const spec = `${commit}:${path}`;
  let kind: string;
  try {
    kind = (await runGit(gitDir, ["cat-file", "-t", spec])).toString().trim();
  } catch {
    return undefined;
  }
  const sha = (await runGit(gitDir, ["rev-parse", spec])).toString().trim();
  if (kind === "blob") return { type: "file", sha, content: await runGit(gitDir, ["cat-file", "blob", sha]) };
  if (kind !== "tree") return undefined;
  const listing = (await runGit(gitDir, ["ls-tree", "-l", "-z", sha])).toString();
  const entries = listing
    .split("\0")
    .filter((line) => line !== "")
    .map((line) => {
      const [meta = "", name = ""] = line.split("\t");
      const [, type = "", entrySha = "", size = "0"] = meta.split(/\s+/);
      return {
        type: type === "tree" ? ("dir" as const) : ("file" as const),
        name,
        sha: entrySha,
        size: size === "-" ? 0 : Number(size),
      };
    });
  return { type: "dir", sha, entries };
}

export async function readBranchSnapshot(
  gitDir: string,
  branch: string,
): Promise<
  { sha: string; parent: string | undefined; files: Record<string, string>; message: string } | undefined
> {
  if (!(await branchExists(gitDir, branch))) return undefined;
  const sha = (await runGit(gitDir, ["rev-parse", `refs/heads/${branch}`])).toString().trim();
  const message = (await runGit(gitDir, ["log", "-1", "--format=%B", sha])).toString().replace(/\n+$/, "");
  const parent =
    (await runGit(gitDir, ["log", "-1", "--format=%P", sha])).toString().trim().split(" ")[0] || undefined;
  const names = (await runGit(gitDir, ["ls-tree", "-r", "-z", "--name-only", sha]))
    .toString()
    .split("\0")
    .filter((name) => name !== "");
  const files: Record<string, string> = {};
  for (const name of names) files[name] = (await runGit(gitDir, ["show", `${sha}:${name}`])).toString();
  return { sha, parent, files, message };
}

/**
 * The lines of the new side that a pull request's diff shows, per changed file: what GitHub
 * lets a review comment sit on (`line` with `side: RIGHT`). The diff is from the merge base
 * of `base` and `head` to `head`, three lines of context, as GitHub renders it. A deleted
 * file is listed with no lines. Undefined when either commit does not exist.
 */
export async function readDiffLines(
  gitDir: string,
  base: string,
  head: string,
): Promise<Map<string, [number, number][]> | undefined> {
  const baseSha = await resolveCommit(gitDir, base);
  const headSha = await resolveCommit(gitDir, head);
  if (baseSha === undefined || headSha === undefined) return undefined;
  const mergeBase = (await runGit(gitDir, ["merge-base", baseSha, headSha])).toString().trim();
  const diff = (
    await runGit(gitDir, [
      "-c",
      "core.quotePath=false",
      "diff",
      "--no-color",
      "--no-renames",
      "--no-ext-diff",
      "-U3",
      mergeBase,
      headSha,
    ])
  ).toString();
  const files = new Map<string, [number, number][]>();
  let oldPath: string | undefined;
  let current: [number, number][] | undefined;
  for (const line of diff.split("\n")) {
    if (line.startsWith("diff --git ")) {
      current = undefined;
      oldPath = undefined;
    } else if (line.startsWith("--- ") && current === undefined) {
      oldPath = line === "--- /dev/null" ? undefined : line.slice(6);
    } else if (line.startsWith("+++ ") && current === undefined) {
      const path = line === "+++ /dev/null" ? oldPath : line.slice(6);
      if (path === undefined) continue;
      current = [];
      files.set(path, current);
    } else if (line.startsWith("@@ ") && current !== undefined) {
      const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
      const start = Number(hunk?.[1] ?? 0);
      const count = hunk?.[2] === undefined ? 1 : Number(hunk[2]);
      if (count > 0) current.push([start, start + count - 1]);
    }
  }
  return files;
}
