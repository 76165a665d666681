import { lstat, mkdtemp, readlink, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { Logger } from "../../core/logger.ts";
import { assertBranchName } from "./assert-branch-name.ts";
import { checkRelayPath } from "./check-relay-path.ts";
import { formatCommitMessage, type CommitMessage } from "./format-commit-message.ts";
import { openGitRunner, type GitRunner } from "./git-runner.ts";
import { isProtectedPath } from "./is-protected-path.ts";
import { listBaseTree, type BaseEntry } from "./list-base-tree.ts";
import { readWorkspaceFile } from "./read-workspace-file.ts";
import { RelayError } from "./relay-error.ts";
import { resolveLinkInTree } from "./resolve-link-in-tree.ts";
import { walkWorkspace, type WorkspaceEntry } from "./walk-workspace.ts";
import { writeRelayCommit, type CommitIdentity, type TreeUpdate } from "./write-relay-commit.ts";
import { createHash } from "node:crypto";

export const relayPolicySchema = z.object({
  allowWorkflowChanges: z.boolean(),
  maxFiles: z.number().int().positive(),
  maxFileBytes: z.number().int().positive(),
  maxTotalBytes: z.number().int().positive(),
  /** Entries (files, links, directories) walked before the relay gives up; nothing is committed then. */
  maxWalkEntries: z.number().int().positive().default(1_000_000),
});

export type RelayPolicy = z.input<typeof relayPolicySchema>;

export type FileChange = { path: string; change: "added" | "modified" | "deleted" };
export type PathReport = { path: string; reason: string };

export type RelayResult = {
  commit: string | undefined;
  baseCommit: string;
  branch: string;
  filesChanged: FileChange[];
  heldBack: PathReport[];
  refused: PathReport[];
  /** Refusals beyond the first 500, counted but not listed. */
  refusedOmitted: number;
};

export type RelayWorkspaceInput = {
  hostClone: string;
  workspace: string;
  runId: string;
  branch: string;
  message: CommitMessage;
  trailers: Record<string, string>;
  policy: RelayPolicy;
  logger: Logger;
  /** Defaults to the host clone's HEAD, which prepareRunCheckout leaves at the run's base. */
  baseCommit?: string | undefined;
  identity?: CommitIdentity | undefined;
  /** Top-level paths Airlock itself writes into the workspace (the task file); never relayed, never deleted. */
  ignoredPaths?: readonly string[] | undefined;
};

export const airlockIdentity: CommitIdentity = { name: "Airlock", email: "airlock@users.noreply.github.com" };

const maxListedRefusals = 500;

const hashConcurrency = 8;

const gitSpecialNames = new Set([".gitmodules", ".gitattributes", ".gitignore", ".mailmap"]);

type Candidate = {
  path: string;
  change: FileChange["change"];
  mode: string;
  /** Bytes that will be written to the object store. */
  size: number;
  /** Known when the content is already in the object store (mode-only change). */
  oid: string | undefined;
  source: { kind: "file"; entry: WorkspaceEntry } | { kind: "symlink"; target: Buffer } | { kind: "none" };
};

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

function hasKeptAncestor(path: string, kept: ReadonlySet<string>): boolean {
  let cut = path.length;
  for (;;) {
    if (kept.has(path.slice(0, cut))) return true;
    cut = path.lastIndexOf("/", cut - 1);
    if (cut <= 0) return false;
  }
}

/**
 * Turns the agent's workspace into one commit on `branch` in the host clone. The
 * workspace is hostile: it is read with lstat and O_NOFOLLOW only, its own `.git` is
 * never read, git never runs in it, and every file goes into the object store with
 * `hash-object --no-filters`, so nothing the agent wrote can make the host execute a
 * program. What is not relayed is reported: held back (workflows, Airlock's config) or
 * refused (unsafe path, escaping symlink, special file, limits). A refused or held-back
 * path keeps its base content; it is never deleted.
 */
export async function relayWorkspace(input: RelayWorkspaceInput): Promise<RelayResult> {
  const policy = relayPolicySchema.parse(input.policy);
  const root = await lstat(input.workspace).catch(() => undefined);
  if (root === undefined || !root.isDirectory()) {
    throw new RelayError(`The workspace ${input.workspace} is not a directory (a symlink is not accepted).`);
  }
  const logger = input.logger.child({ runId: input.runId, branch: input.branch });
  const gitDir = join(input.hostClone, ".git");
  const git = await openGitRunner({ logger });
  const staging = await mkdtemp(join(dirname(input.hostClone), ".relay-staging-"));
  try {
    await assertBranchName(git, input.branch);
    const message = formatCommitMessage(input.message, input.trailers);
    const baseCommit = (
      await git.run(["rev-parse", "--verify", "--end-of-options", `${input.baseCommit ?? "HEAD"}^{commit}`], {
        gitDir,
      })
    ).stdout
      .toString()
      .trim();
    const format = (await git.run(["rev-parse", "--show-object-format"], { gitDir })).stdout
      .toString()
      .trim();
    const algorithm = format === "sha256" ? "sha256" : "sha1";
    const base = await listBaseTree(git, gitDir, baseCommit);
    const collected = await collectCandidates(input, policy, base, algorithm);
    const { candidates, kept } = collected;
    const refused = collected.refused;
    const heldBack: PathReport[] = [];
    const accepted: Candidate[] = [];
    let totalBytes = 0;
    for (const candidate of candidates.sort(byPath)) {
      const { path } = candidate;
      if (!policy.allowWorkflowChanges && isProtectedPath(path)) {
        heldBack.push({
          path,
          reason: `${candidate.change} under .github/workflows/ or Airlock's config; the repository's config does not allow workflow changes`,
        });
        kept.add(path);
      } else if (candidate.source.kind === "file" && candidate.size > policy.maxFileBytes) {
        refused.push({
          path,
          reason: `file of ${candidate.size} bytes is over maxFileBytes (${policy.maxFileBytes})`,
        });
        kept.add(path);
      } else if (accepted.length >= policy.maxFiles) {
        refused.push({ path, reason: `over the limit of ${policy.maxFiles} changed files` });
        kept.add(path);
      } else if (totalBytes + candidate.size > policy.maxTotalBytes) {
        refused.push({ path, reason: `over the limit of ${policy.maxTotalBytes} changed bytes in total` });
        kept.add(path);
      } else {
        accepted.push(candidate);
        totalBytes += candidate.size;
      }
    }
    const relayed = refuseConflicts(accepted, base, refused);
    const updates = await storeBlobs(git, gitDir, staging, relayed, algorithm, refused);
    const commit = await writeRelayCommit(git, {
      gitDir,
      indexFile: join(staging, "index"),
      baseCommit,
      branch: input.branch,
      updates: updates.map((u) => u.update),
      message,
      identity: input.identity ?? airlockIdentity,
    });
    const result: RelayResult = {
      commit,
      baseCommit,
      branch: input.branch,
      filesChanged:
        commit === undefined ? [] : updates.map((u) => ({ path: u.update.path, change: u.change })),
      heldBack,
      refused: refused.sort(byPath).slice(0, maxListedRefusals),
      refusedOmitted: Math.max(0, refused.length - maxListedRefusals),
    };
    logger.info(
      {
        commit,
        baseCommit,
        changed: result.filesChanged.length,
        heldBack: heldBack.length,
        refused: refused.length,
        bytes: totalBytes,
      },
      commit === undefined ? "relay found nothing to commit" : "relay committed the workspace",
    );
    return result;
  } finally {
    await rm(staging, { recursive: true, force: true });
    await git.close();
  }
}

/** Walks the workspace and compares it with the base tree; refuses what can never be relayed. */
async function collectCandidates(
  input: RelayWorkspaceInput,
  policy: z.output<typeof relayPolicySchema>,
  base: ReadonlyMap<string, BaseEntry>,
  algorithm: "sha1" | "sha256",
): Promise<{ candidates: Candidate[]; refused: PathReport[]; kept: Set<string> }> {
  const ignored = [".git", ...(input.ignoredPaths ?? [".airlock"])];
  const submodules = [...base].filter(([, e]) => e.mode === "160000").map(([p]) => p);
  const candidates: Candidate[] = [];
  const refused: PathReport[] = [];
  // Paths whose base content stays as it is (and everything under them).
  const kept = new Set<string>(submodules);
  const seen = new Set<string>();
  const noDescend = new Set<string>();
  const refuse = (entry: WorkspaceEntry, reason: string): void => {
    refused.push({ path: entry.path, reason });
    kept.add(entry.path);
    noDescend.add(entry.path);
  };
  const hashing = new Set<Promise<void>>();
  let hashFailure: unknown;
  let walked = 0;
  for await (const entry of walkWorkspace(input.workspace, (e) => !noDescend.has(e.path))) {
    walked += 1;
    if (walked > policy.maxWalkEntries) {
      throw new RelayError(
        `The workspace holds more than ${policy.maxWalkEntries} entries; nothing was committed. Raise maxWalkEntries if the repository is that large.`,
      );
    }
    const { path } = entry;
    if (ignored.some((root) => path === root)) {
      // The workspace's own .git (config, hooks, attributes) is the agent's: never read.
      kept.add(path);
      noDescend.add(path);
      continue;
    }
    if (entry.invalidName) {
      refuse(entry, "name is not valid UTF-8");
      continue;
    }
    const pathProblem = checkRelayPath(path);
    if (pathProblem !== undefined) {
      refuse(entry, pathProblem);
      continue;
    }
    const submodule = submodules.find((s) => isUnder(path, s));
    if (submodule !== undefined && !(path === submodule && entry.kind === "directory")) {
      refuse(entry, `inside submodule ${submodule}, which the relay does not change`);
      continue;
    }
    const before = base.get(path);
    if (entry.kind === "directory") continue;
    if (entry.kind === "special") {
      refuse(entry, "special file (fifo, socket or device)");
      continue;
    }
    if (entry.kind === "symlink") {
      const target = await readlink(entry.absolutePath, { encoding: "buffer" });
      const text = target.toString("utf8");
      if (Buffer.compare(Buffer.from(text), target) !== 0 || text.includes("\0")) {
        refuse(entry, "symlink target is not valid UTF-8");
        continue;
      }
      // git itself refuses these as symlinks: a clone would read them from outside the tree.
      if (gitSpecialNames.has((path.split("/").pop() ?? "").toLowerCase())) {
        refuse(entry, "a .gitmodules, .gitattributes, .gitignore or .mailmap may not be a symlink");
        continue;
      }
      const resolved = await resolveLinkInTree(input.workspace, path, text);
      if (resolved === undefined) {
        refuse(entry, "symlink pointing outside the workspace");
        continue;
      }
      if (resolved !== "" && checkRelayPath(resolved) !== undefined) {
        refuse(entry, "symlink pointing into a .git directory");
        continue;
      }
      seen.add(path);
      const oid = createHash(algorithm).update(`blob ${target.length}\0`).update(target).digest("hex");
      if (before?.mode === "120000" && before.oid === oid) continue;
      candidates.push({
        path,
        change: before === undefined ? "added" : "modified",
        mode: "120000",
        size: target.length,
        oid: undefined,
        source: { kind: "symlink", target },
      });
      continue;
    }
    seen.add(path);
    const size = entry.stats.size;
    const mode = (entry.stats.mode & 0o100) !== 0 ? "100755" : "100644";
    const sameSizeBlob = before !== undefined && before.size === size && before.mode !== "120000";
    if (sameSizeBlob && size > policy.maxFileBytes) {
      // Comparing would mean reading a file the policy says is too big: the base version stays.
      kept.add(path);
      continue;
    }
    const change = before === undefined ? "added" : "modified";
    if (!sameSizeBlob) {
      candidates.push({ path, change, mode, size, oid: undefined, source: { kind: "file", entry } });
      continue;
    }
    // Same size as the base blob: only the content can tell. Hashed a few at a time.
    if (hashing.size >= hashConcurrency) await Promise.race(hashing);
    const job = readWorkspaceFile(entry.absolutePath, entry.stats, algorithm)
      .then((read) => {
        if (!read.ok) {
          refused.push({ path, reason: read.reason });
          kept.add(path);
        } else if (read.oid !== before.oid) {
          candidates.push({ path, change, mode, size, oid: undefined, source: { kind: "file", entry } });
        } else if (mode !== before.mode) {
          candidates.push({ path, change, mode, size: 0, oid: read.oid, source: { kind: "file", entry } });
        }
      })
      .catch((error: unknown) => {
        hashFailure ??= error;
      });
    const tracked = job.finally(() => hashing.delete(tracked));
    hashing.add(tracked);
  }
  await Promise.all(hashing);
  if (hashFailure !== undefined) {
    throw new RelayError(
      "Could not read a workspace file to compare it with the base; nothing was committed.",
      {
        cause: hashFailure,
      },
    );
  }
  for (const [path, entry] of base) {
    if (entry.mode === "160000" || seen.has(path) || hasKeptAncestor(path, kept)) continue;
    candidates.push({
      path,
      change: "deleted",
      mode: "0",
      size: 0,
      oid: undefined,
      source: { kind: "none" },
    });
  }
  return { candidates, refused, kept };
}

/**
 * Refuses an accepted change that would clash with a path that keeps its base content
 * (a file where a kept directory is, or under a kept file), e.g. `.github` replaced by a
 * symlink while `.github/workflows/` is held back.
 */
function refuseConflicts(
  accepted: readonly Candidate[],
  base: ReadonlyMap<string, BaseEntry>,
  refused: PathReport[],
): Candidate[] {
  const final = new Set(base.keys());
  for (const c of accepted) {
    if (c.change === "deleted") final.delete(c.path);
    else final.add(c.path);
  }
  const directories = new Set([...final].flatMap(ancestorsOf));
  return accepted.filter((c) => {
    if (c.change === "deleted") return true;
    if (directories.has(c.path) || ancestorsOf(c.path).some((a) => final.has(a))) {
      refused.push({ path: c.path, reason: "would clash with a path that keeps its base content" });
      return false;
    }
    return true;
  });
}

function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let cut = path.indexOf("/"); cut > 0; cut = path.indexOf("/", cut + 1)) out.push(path.slice(0, cut));
  return out;
}

/** Copies accepted content to a private staging folder and writes it to the host clone's object store. */
async function storeBlobs(
  git: GitRunner,
  gitDir: string,
  staging: string,
  accepted: readonly Candidate[],
  algorithm: "sha1" | "sha256",
  refused: PathReport[],
): Promise<{ update: TreeUpdate; change: FileChange["change"] }[]> {
  const out: { update: TreeUpdate; change: FileChange["change"] }[] = [];
  const toHash: { index: number; file: string; expected: string }[] = [];
  for (const c of accepted) {
    if (c.source.kind === "none") {
      out.push({ update: { path: c.path, mode: "0", oid: undefined }, change: c.change });
      continue;
    }
    if (c.oid !== undefined) {
      out.push({ update: { path: c.path, mode: c.mode, oid: c.oid }, change: c.change });
      continue;
    }
    const file = join(staging, `blob-${toHash.length}`);
    let expected: string;
    if (c.source.kind === "symlink") {
      await writeFile(file, c.source.target, { flag: "wx", mode: 0o600 });
      expected = createHash(algorithm)
        .update(`blob ${c.source.target.length}\0`)
        .update(c.source.target)
        .digest("hex");
    } else {
      const read = await readWorkspaceFile(
        c.source.entry.absolutePath,
        c.source.entry.stats,
        algorithm,
        file,
      );
      if (!read.ok) {
        refused.push({ path: c.path, reason: read.reason });
        continue;
      }
      expected = read.oid;
    }
    toHash.push({ index: out.length, file, expected });
    out.push({ update: { path: c.path, mode: c.mode, oid: expected }, change: c.change });
  }
  if (toHash.length > 0) {
    const { stdout } = await git.run(["hash-object", "-w", "--no-filters", "--stdin-paths"], {
      gitDir,
      input: toHash.map((h) => `${h.file}\n`).join(""),
    });
    const oids = stdout.toString().trim().split("\n");
    toHash.forEach((h, i) => {
      // Our own hash and git's must agree: a mismatch would mean some conversion ran.
      if (oids[i] !== h.expected) {
        throw new RelayError(
          `git stored ${oids[i] ?? "nothing"} for a file hashed as ${h.expected}; nothing was committed.`,
        );
      }
    });
  }
  return out;
}
