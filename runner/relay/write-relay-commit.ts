import type { GitRunner } from "./git-runner.ts";
import { RelayError } from "./relay-error.ts";

export type TreeUpdate =
  { path: string; mode: string; oid: string } | { path: string; mode: "0"; oid: undefined };

export type CommitIdentity = { name: string; email: string };

/** Author and committer of relay commits unless the caller names another (a GitHub App's bot). */
export const airlockIdentity: CommitIdentity = { name: "Airlock", email: "airlock@users.noreply.github.com" };

/**
 * Builds the commit from blobs already in the object store: a private index read from
 * the base tree, `update-index --index-info`, `write-tree`, `commit-tree`, then the
 * branch ref. None of these plumbing commands consults .gitattributes, so a filter,
 * diff or merge driver the workspace names never runs; none runs a hook. The host
 * clone's own index and worktree are not touched. Returns undefined when the tree is
 * the base tree.
 */
export async function writeRelayCommit(
  git: GitRunner,
  opts: {
    gitDir: string;
    indexFile: string;
    baseCommit: string;
    branch: string;
    updates: readonly TreeUpdate[];
    message: string;
    identity: CommitIdentity;
  },
): Promise<string | undefined> {
  const { gitDir, baseCommit } = opts;
  const env = { GIT_INDEX_FILE: opts.indexFile };
  await git.run(["read-tree", baseCommit], { gitDir, env });
  const zero = "0".repeat(baseCommit.length);
  // Deletions first so a file can replace a directory (and the reverse) in one pass.
  const ordered = [...opts.updates].sort((a, b) => (a.mode === "0" ? 0 : 1) - (b.mode === "0" ? 0 : 1));
  const input = ordered.map((u) =>
    u.oid === undefined ? `0 ${zero}\t${u.path}\0` : `${u.mode} ${u.oid}\t${u.path}\0`,
  );
  await git.run(["update-index", "-z", "--index-info"], { gitDir, env, input: input.join("") });
  const tree = (await git.run(["write-tree"], { gitDir, env })).stdout.toString().trim();
  const baseTree = (await git.run(["rev-parse", `${baseCommit}^{tree}`], { gitDir })).stdout
    .toString()
    .trim();
  if (tree === baseTree) return undefined;
  const identityEnv = {
    GIT_AUTHOR_NAME: opts.identity.name,
    GIT_AUTHOR_EMAIL: opts.identity.email,
    GIT_COMMITTER_NAME: opts.identity.name,
    GIT_COMMITTER_EMAIL: opts.identity.email,
  };
  const commit = (
    await git.run(["commit-tree", tree, "-p", baseCommit], { gitDir, env: identityEnv, input: opts.message })
  ).stdout
    .toString()
    .trim();
  const ref = `refs/heads/${opts.branch}`;
  const existing = await git.run(["rev-parse", "--verify", "--quiet", ref], { gitDir, okExitCodes: [1] });
  const current = existing.stdout.toString().trim();
  if (current !== "" && current !== baseCommit) {
    throw new RelayError(
      `Branch ${opts.branch} already exists in the host clone at ${current}, not at the run's base ${baseCommit}; use a new branch name or start from that branch.`,
    );
  }
  // The old value makes the update atomic: created if absent, moved only from the base.
  await git.run(["update-ref", "-m", "airlock relay", ref, commit, current === "" ? zero : current], {
    gitDir,
  });
  return commit;
}
