import { lstat, mkdtemp, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import type { Logger } from "../../core/logger.ts";
import { assertBranchName } from "./assert-branch-name.ts";
import { compareWorkspace, type Candidate, type FileChange, type PathReport } from "./compare-workspace.ts";
import { formatCommitMessage, type CommitMessage } from "./format-commit-message.ts";
import { openGitRunner } from "./git-runner.ts";
import { isProtectedPath } from "./is-protected-path.ts";
import { listBaseTree, type BaseEntry } from "./list-base-tree.ts";
import { RelayError } from "./relay-error.ts";
import { scanForSecrets } from "./scan-for-secrets.ts";
import { storeWorkspaceBlobs } from "./store-workspace-blobs.ts";
import { withholdSecretText } from "./withhold-secret-text.ts";
import { airlockIdentity, writeRelayCommit, type CommitIdentity } from "./write-relay-commit.ts";

export const relayPolicySchema = z.object({
  allowWorkflowChanges: z.boolean(),
  maxFiles: z.number().int().positive(),
  maxFileBytes: z.number().int().positive(),
  maxTotalBytes: z.number().int().positive(),
  /** Entries (files, links, directories) walked before the relay gives up; nothing is committed then. */
  maxWalkEntries: z.number().int().positive().default(1_000_000),
});

export type RelayPolicy = z.input<typeof relayPolicySchema>;

export type { FileChange, PathReport };
export { airlockIdentity };

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
  /**
   * Files the host itself writes into the commit (issue 10: `.github/airlock/capabilities.yml`),
   * whatever the workspace holds at those paths: they are Airlock's words, not the agent's,
   * so the hold-back rules for Airlock's config do not apply to them.
   */
  hostFiles?: readonly { path: string; content: string }[] | undefined;
};

const maxListedRefusals = 500;

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Turns the agent's workspace into one commit on `branch` in the host clone. The
 * workspace is hostile: it is read with lstat and O_NOFOLLOW only, its own `.git` is
 * never read, git never runs in it, and every file goes into the object store with
 * `hash-object --no-filters`, so nothing the agent wrote can make the host execute a
 * program. What is not relayed is reported: held back (workflows, local actions, submodules,
 * Airlock's config, content that looks like a secret) or
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
    const message = formatCommitMessage(
      { ...input.message, body: await withholdSecretText(input.message.body, "The agent's summary") },
      input.trailers,
    );
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
    const collected = await compareWorkspace(input, policy, base, algorithm);
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
          reason: `${candidate.change} under .github/workflows/, .github/actions/, .gitmodules or Airlock's config; set allow_workflow_changes: true in .github/airlock.yml to let the agent change them`,
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
    const updates = await storeWorkspaceBlobs(
      git,
      gitDir,
      staging,
      relayed,
      algorithm,
      { refused, heldBack },
      describeSecrets,
    );
    const hostUpdates = await storeHostFiles(git, gitDir, input.hostFiles ?? [], base);
    const hostPaths = new Set(hostUpdates.map((u) => u.update.path));
    const allUpdates = [...updates.filter((u) => !hostPaths.has(u.update.path)), ...hostUpdates];
    const commit = await writeRelayCommit(git, {
      gitDir,
      indexFile: join(staging, "index"),
      baseCommit,
      branch: input.branch,
      updates: allUpdates.map((u) => u.update),
      message,
      identity: input.identity ?? airlockIdentity,
    });
    const result: RelayResult = {
      commit,
      baseCommit,
      branch: input.branch,
      filesChanged:
        commit === undefined ? [] : allUpdates.map((u) => ({ path: u.update.path, change: u.change })),
      heldBack: heldBack.sort(byPath),
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

/** The host's own files as blobs; one the base already holds unchanged is left out. */
async function storeHostFiles(
  git: Awaited<ReturnType<typeof openGitRunner>>,
  gitDir: string,
  files: readonly { path: string; content: string }[],
  base: ReadonlyMap<string, BaseEntry>,
): Promise<{ update: { path: string; mode: string; oid: string }; change: FileChange["change"] }[]> {
  const stored = [];
  for (const file of files) {
    const oid = (
      await git.run(["hash-object", "-w", "--no-filters", "--stdin"], { gitDir, input: file.content })
    ).stdout
      .toString()
      .trim();
    const existing = base.get(file.path);
    if (existing?.oid === oid) continue;
    stored.push({
      update: { path: file.path, mode: "100644", oid },
      change: (existing === undefined ? "added" : "modified") as FileChange["change"],
    });
  }
  return stored;
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

/**
 * The secret scan before push (issue 9 §6): a file whose new content matches a secret rule
 * is held back, and the reason names the rules and lines, never the matched text.
 */
async function describeSecrets(path: string, content: Buffer): Promise<string | undefined> {
  const findings = await scanForSecrets(path, content);
  if (findings.length === 0) return undefined;
  const shown = findings.slice(0, 5).map((f) => `${f.rule} at line ${f.line}`);
  if (findings.length > 5) shown.push(`${findings.length - 5} more`);
  return `it looks like it holds a secret (${shown.join("; ")}), so it was not pushed; the secret is not shown here. If it is not a secret, a maintainer can add the file to the branch by hand`;
}
