import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Where the symlink at `linkPath` (relative to `root`) ends up, as a path relative to
 * `root`, or undefined when it leaves the tree. Follows links inside the tree with lstat
 * and readlink only, so `a -> evil/x` with `evil -> ../host` counts as leaving even
 * though the text `evil/x` looks local. A link to a path that does not exist resolves
 * lexically.
 */
export async function resolveLinkInTree(
  root: string,
  linkPath: string,
  target: string,
): Promise<string | undefined> {
  const parts = linkPath.split("/").slice(0, -1);
  let queue = target.split("/");
  if (target.startsWith("/")) return undefined;
  let hops = 0;
  let onDisk = true;
  while (queue.length > 0) {
    const name = queue.shift();
    if (name === undefined || name === "" || name === ".") continue;
    if (name === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(name);
    if (!onDisk) continue;
    const stats = await lstat(join(root, ...parts)).catch(() => undefined);
    if (stats === undefined) {
      onDisk = false;
      continue;
    }
    if (stats.isSymbolicLink()) {
      hops += 1;
      if (hops > 40) return undefined;
      const next = await readlink(join(root, ...parts));
      if (next.startsWith("/")) return undefined;
      parts.pop();
      queue = [...next.split("/"), ...queue];
    }
  }
  return parts.join("/");
}
