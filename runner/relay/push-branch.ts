import { join } from "node:path";
import type { Logger } from "../../core/logger.ts";
import { assertBranchName } from "./assert-branch-name.ts";
import { gitCredentialsSchema, type GitCredentials } from "./git-credentials.ts";
import { openGitRunner } from "./git-runner.ts";
import { parseGitRemote } from "./parse-git-remote.ts";
import { trustLocalRepository } from "./trust-local-repository.ts";

export type PushBranchInput = {
  hostClone: string;
  /** The repository given as `--repo`: a local path or a git URL. */
  remote: string;
  branch: string;
  credentials?: GitCredentials | undefined;
  logger: Logger;
  /** Overwrite the remote branch. Only for a branch Airlock owns (a re-claimed run's `airlock/…`). */
  force?: boolean | undefined;
};

/**
 * Pushes `branch` from the host clone, not forced unless the caller owns the branch. The remote is passed on the command
 * line (not saved as a remote) and credentials travel in that one command's environment
 * as an Authorization header scoped to the remote's origin; neither reaches .git/config,
 * and both are redacted from errors.
 */
export async function pushBranch(input: PushBranchInput): Promise<{ remoteRef: string; commit: string }> {
  const logger = input.logger.child({ branch: input.branch });
  const remote = parseGitRemote(input.remote);
  const credentials =
    input.credentials !== undefined
      ? gitCredentialsSchema.parse(input.credentials)
      : remote.embeddedCredentials;
  const auth =
    credentials !== undefined && remote.httpOrigin !== undefined
      ? { credentials, httpOrigin: remote.httpOrigin }
      : undefined;
  const gitDir = join(input.hostClone, ".git");
  const git = await openGitRunner({ logger });
  try {
    await assertBranchName(git, input.branch);
    const ref = `refs/heads/${input.branch}`;
    const commit = (await git.run(["rev-parse", "--verify", `${ref}^{commit}`], { gitDir })).stdout
      .toString()
      .trim();
    logger.info({ commit, remoteKind: remote.kind }, "pushing the run branch");
    const env = remote.kind === "path" ? await trustLocalRepository(git, remote.location) : undefined;
    await git.run(
      [
        "push",
        "--porcelain",
        "--no-verify",
        "--quiet",
        "--",
        remote.location,
        `${input.force === true ? "+" : ""}${commit}:${ref}`,
      ],
      { gitDir, auth, env },
    );
    logger.info({ commit }, "pushed the run branch");
    return { remoteRef: ref, commit };
  } finally {
    await git.close();
  }
}
