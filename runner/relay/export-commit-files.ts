import { spawn, type ChildProcess } from "node:child_process";
import type { GitRunner } from "./git-runner.ts";
import { RelayError } from "./relay-error.ts";

/**
 * Writes the files of `commit` into `target` with `git archive | tar -x`: no `.git`, so
 * nothing of the host clone is visible to the agent. The host clone's
 * `info/attributes` (written by prepareRunCheckout) switches off export-ignore and
 * export-subst, so the workspace holds the commit byte for byte and the relay does not
 * mistake an export-ignored file for a deletion.
 */
export async function exportCommitFiles(
  git: GitRunner,
  gitDir: string,
  commit: string,
  target: string,
): Promise<void> {
  const archive = git.spawn(["archive", "--format=tar", commit], { gitDir });
  archive.stdin.end();
  // GNU tar refuses members with `..` or a leading `/` by default: a second guard
  // against a crafted tree.
  const tar = spawn("tar", ["-x", "-f", "-", "-C", target, "--no-same-owner"], {
    stdio: ["pipe", "ignore", "pipe"],
    shell: false,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" },
  });
  let archiveErr = "";
  let tarErr = "";
  archive.stderr.on("data", (c: Buffer) => (archiveErr += c.toString()));
  tar.stderr.on("data", (c: Buffer) => (tarErr += c.toString()));
  tar.stdin.on("error", () => {
    // tar exiting early surfaces through its exit code.
  });
  archive.stdout.pipe(tar.stdin);
  const exited = (child: ChildProcess) =>
    new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code: number | null) => resolve(code ?? 1));
    });
  const [archiveCode, tarCode] = await Promise.all([exited(archive), exited(tar)]).catch((error: unknown) => {
    throw new RelayError("Could not run git archive or tar on the host; are both installed?", {
      cause: error,
    });
  });
  if (archiveCode !== 0 || tarCode !== 0) {
    throw new RelayError(
      `Could not write the files of ${commit} into ${target}: git archive exited ${archiveCode} (${archiveErr.trim().slice(-500)}), tar exited ${tarCode} (${tarErr.trim().slice(-500)}).`,
    );
  }
}
