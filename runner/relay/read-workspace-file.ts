import { constants } from "node:fs";
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { Stats } from "node:fs";

export type ReadResult = { ok: true; oid: string } | { ok: false; reason: string };

/**
 * Git's blob id for a workspace file, copying its bytes to `copyTo` when given. Opens
 * with O_NOFOLLOW and checks the open file is the one the walk saw (same inode, same
 * size, still a regular file), so a file swapped for a symlink or a fifo after the walk
 * is refused instead of read, and reads no more than that size.
 */
export async function readWorkspaceFile(
  absolutePath: string,
  seen: Stats,
  algorithm: "sha1" | "sha256",
  copyTo?: string,
): Promise<ReadResult> {
  let handle;
  try {
    handle = await open(absolutePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return {
      ok: false,
      reason: `could not be opened without following links (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    };
  }
  const out = copyTo === undefined ? undefined : await open(copyTo, "wx", 0o600);
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.ino !== seen.ino || stats.dev !== seen.dev || stats.size !== seen.size) {
      return { ok: false, reason: "changed between the walk and the read" };
    }
    const hash = createHash(algorithm).update(`blob ${stats.size}\0`);
    const buffer = Buffer.allocUnsafe(Math.min(1 << 20, Math.max(stats.size, 1)));
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > stats.size) return { ok: false, reason: "grew while being read" };
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      if (out !== undefined) await out.write(chunk);
    }
    if (total !== stats.size) return { ok: false, reason: "shrank while being read" };
    return { ok: true, oid: hash.digest("hex") };
  } finally {
    await handle.close();
    await out?.close();
  }
}
