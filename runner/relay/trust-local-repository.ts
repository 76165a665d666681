import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GitRunner } from "./git-runner.ts";

/**
 * Environment for one clone from, or push to, a local repository the operator named
 * (`--repo <path>`). It may belong to another user (the runner often runs as root),
 * and git then refuses it as "dubious ownership". Only upload-pack or receive-pack runs
 * there, as it would on any server. The trust goes through a global config file in the
 * runner's throwaway HOME because `-c` does not reach the git that clone and push spawn.
 */
export async function trustLocalRepository(
  git: GitRunner,
  path: string,
): Promise<{ GIT_CONFIG_GLOBAL: string }> {
  const file = join(git.home, "trust-local.gitconfig");
  const quote = (value: string) => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  await writeFile(file, `[safe]\n\tdirectory = ${quote(path)}\n\tdirectory = ${quote(join(path, ".git"))}\n`);
  return { GIT_CONFIG_GLOBAL: file };
}
