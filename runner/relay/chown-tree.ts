import { lchown, readdir } from "node:fs/promises";
import { join } from "node:path";

/** `chown -R` without following symlinks (lchown), so a link in the repository cannot redirect it. */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await lchown(root, uid, gid);
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop();
    if (dir === undefined) break;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      await lchown(path, uid, gid);
      if (entry.isDirectory()) pending.push(path);
    }
  }
}
