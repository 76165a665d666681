import { createHash } from "node:crypto";
import { readlink } from "node:fs/promises";
import { checkRelayPath } from "./check-relay-path.ts";
import type { BaseEntry } from "./list-base-tree.ts";
import { readWorkspaceFile } from "./read-workspace-file.ts";
import { RelayError } from "./relay-error.ts";
import { resolveLinkInTree } from "./resolve-link-in-tree.ts";
import { walkWorkspace, type WorkspaceEntry } from "./walk-workspace.ts";

export type FileChange = { path: string; change: "added" | "modified" | "deleted" };
export type PathReport = { path: string; reason: string };

/** One difference between the workspace and the base tree. */
export type Candidate = {
  path: string;
  change: FileChange["change"];
  mode: string;
  /** Bytes that will be written to the object store. */
  size: number;
  /** Known when the content is already in the object store (mode-only change). */
  oid: string | undefined;
  source: { kind: "file"; entry: WorkspaceEntry } | { kind: "symlink"; target: Buffer } | { kind: "none" };
};

export type WorkspaceComparison = {
  candidates: Candidate[];
  refused: PathReport[];
  /** Paths whose base content stays as it is, with everything under them. */
  kept: Set<string>;
};

const hashConcurrency = 8;

const gitSpecialNames = new Set([".gitmodules", ".gitattributes", ".gitignore", ".mailmap"]);

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

/** Walks the workspace and compares it with the base tree; refuses what can never be relayed. */
export async function compareWorkspace(
  input: {
    workspace: string;
    ignoredPaths?: readonly string[] | undefined;
  },
  policy: { maxFileBytes: number; maxWalkEntries: number },
  base: ReadonlyMap<string, BaseEntry>,
  algorithm: "sha1" | "sha256",
): Promise<WorkspaceComparison> {
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
