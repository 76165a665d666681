import type { GitRunner } from "./git-runner.ts";
import { RelayError } from "./relay-error.ts";

/** Refuses a branch name git would reject or read as an option or a revision expression. */
export async function assertBranchName(git: GitRunner, branch: string): Promise<void> {
  const plain =
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) && !branch.includes("..") && !branch.endsWith(".lock");
  const checked = plain
    ? (await git.run(["check-ref-format", `refs/heads/${branch}`], { okExitCodes: [1] })).exitCode === 0
    : false;
  if (!checked) {
    throw new RelayError(
      `The branch name "${branch}" is not allowed; use letters, digits, ".", "_", "-" and "/" (e.g. airlock/<run>).`,
    );
  }
}
