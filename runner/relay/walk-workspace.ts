import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export type WorkspaceEntry = {
  /** Relative to the workspace root, `/`-separated; set only when the name is valid UTF-8. */
  path: string;
  absolutePath: string;
  kind: "file" | "symlink" | "directory" | "special";
  stats: Stats;
  /** Set when a name in the path is not valid UTF-8 (git and GitHub cannot show it faithfully). */
  invalidName: boolean;
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

function kindOf(stats: Stats): WorkspaceEntry["kind"] {
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "directory";
  return "special";
}

/**
 * Yields every entry under `root` depth-first in name order, one directory listing in
 * memory at a time. Uses lstat only: a symlink is reported as a symlink and never
 * followed, so a link to `/` or into the host clone cannot widen the walk. A directory
 * is descended only when `enter` says so.
 */
export async function* walkWorkspace(
  root: string,
  enter: (entry: WorkspaceEntry) => boolean,
): AsyncGenerator<WorkspaceEntry> {
  const pending: { absolute: string; relative: string; invalid: boolean }[] = [
    { absolute: root, relative: "", invalid: false },
  ];
  while (pending.length > 0) {
    const dir = pending.pop();
    if (dir === undefined) break;
    const names = (await readdir(dir.absolute, { encoding: "buffer" })).sort(Buffer.compare);
    const children: { absolute: string; relative: string; invalid: boolean }[] = [];
    // lstat a directory's entries a few at a time: a large tree is mostly waiting on the disk.
    const decoded = names.map((raw) => {
      try {
        return { raw, name: utf8.decode(raw), invalid: dir.invalid };
      } catch {
        return { raw, name: raw.toString("latin1"), invalid: true };
      }
    });
    for (let start = 0; start < decoded.length; start += 32) {
      const batch = decoded.slice(start, start + 32);
      const stats = await Promise.all(
        batch.map(({ raw }) => lstat(Buffer.concat([Buffer.from(`${dir.absolute}/`), raw]))),
      );
      for (const [i, { raw, name, invalid }] of batch.entries()) {
        const stat = stats[i];
        if (stat === undefined) continue;
        const entry: WorkspaceEntry = {
          path: dir.relative === "" ? name : `${dir.relative}/${name}`,
          absolutePath: invalid
            ? Buffer.concat([Buffer.from(`${dir.absolute}/`), raw]).toString("latin1")
            : join(dir.absolute, name),
          kind: kindOf(stat),
          stats: stat,
          invalidName: invalid,
        };
        yield entry;
        if (entry.kind === "directory" && !invalid && enter(entry)) {
          children.push({ absolute: entry.absolutePath, relative: entry.path, invalid });
        }
      }
    }
    // Reversed so the stack pops them in name order.
    for (const child of children.reverse()) pending.push(child);
  }
}
