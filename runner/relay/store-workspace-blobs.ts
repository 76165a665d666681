import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Candidate, FileChange, PathReport } from "./compare-workspace.ts";
import type { GitRunner } from "./git-runner.ts";
import { readWorkspaceFile } from "./read-workspace-file.ts";
import { RelayError } from "./relay-error.ts";
import type { TreeUpdate } from "./write-relay-commit.ts";

/**
 * Why a path's new content must not be pushed (a secret in it), or undefined. Given the
 * bytes that will be committed: the staged copy, which the sandbox can no longer change.
 */
export type ContentCheck = (path: string, content: Buffer) => Promise<string | undefined>;

/**
 * Copies accepted content to a private staging folder, holds back what `check` objects to,
 * and writes the rest to the host clone's object store.
 */
export async function storeWorkspaceBlobs(
  git: GitRunner,
  gitDir: string,
  staging: string,
  accepted: readonly Candidate[],
  algorithm: "sha1" | "sha256",
  reports: { refused: PathReport[]; heldBack: PathReport[] },
  check: ContentCheck,
): Promise<{ update: TreeUpdate; change: FileChange["change"] }[]> {
  const { refused, heldBack } = reports;
  const out: { update: TreeUpdate; change: FileChange["change"] }[] = [];
  const toHash: { index: number; file: string; expected: string }[] = [];
  let staged = 0;
  for (const c of accepted) {
    if (c.source.kind === "none") {
      out.push({ update: { path: c.path, mode: "0", oid: undefined }, change: c.change });
      continue;
    }
    if (c.oid !== undefined) {
      out.push({ update: { path: c.path, mode: c.mode, oid: c.oid }, change: c.change });
      continue;
    }
    // Numbered apart from toHash: a file held back or refused after its copy keeps its name taken.
    const file = join(staging, `blob-${staged++}`);
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
    const objection = await check(c.path, await readFile(file));
    if (objection !== undefined) {
      heldBack.push({ path: c.path, reason: `${c.change}, but ${objection}` });
      continue;
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
