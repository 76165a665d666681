import type { GitRunner } from "./git-runner.ts";
import { RelayError } from "./relay-error.ts";

export type BaseEntry = { mode: string; oid: string; size: number | undefined };

/** Every blob, symlink and submodule of `commit`, by path (`git ls-tree -r -l -z`). */
export async function listBaseTree(
  git: GitRunner,
  gitDir: string,
  commit: string,
): Promise<Map<string, BaseEntry>> {
  const { stdout } = await git.run(["ls-tree", "-r", "-l", "-z", "--full-tree", commit], { gitDir });
  const entries = new Map<string, BaseEntry>();
  for (const record of stdout.toString("utf8").split("\0")) {
    if (record.length === 0) continue;
    const tab = record.indexOf("\t");
    const match = /^(\d{6}) (\w+) ([0-9a-f]+) +(-|\d+)$/.exec(record.slice(0, tab));
    if (tab < 0 || match === null) throw new RelayError(`Unexpected ls-tree output: ${record.slice(0, 120)}`);
    const [, mode = "", , oid = "", size = "-"] = match;
    entries.set(record.slice(tab + 1), { mode, oid, size: size === "-" ? undefined : Number(size) });
  }
  return entries;
}
