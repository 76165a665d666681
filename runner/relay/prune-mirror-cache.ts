import { lstat, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/logger.ts";
import { lockMirror } from "./lock-mirror.ts";
import { mirrorCompleteMarker } from "./sync-repository-mirror.ts";

type CachedMirror = { name: string; lastUsed: number; bytes: number };

/**
 * Keeps the mirror cache under `maxMb` (AIRLOCK_MIRROR_CACHE_MB): while the cache is
 * larger, the least recently used mirror is deleted, under its own lock and only if no
 * run holds that lock at the moment (a busy mirror is skipped, not waited for). `keep`
 * (the mirror a run just used) is never deleted, so one repository larger than the cap
 * still gets its mirror. A deleted mirror costs its next run a full fetch, nothing else:
 * run folders hold their own objects, never a link into the cache.
 */
export async function pruneMirrorCache(opts: {
  dir: string;
  maxMb: number;
  keep: string;
  logger: Logger;
}): Promise<{ removed: string[]; bytes: number }> {
  const mirrors = await listMirrors(opts.dir);
  let bytes = mirrors.reduce((sum, m) => sum + m.bytes, 0);
  const limit = opts.maxMb * 1024 * 1024;
  const removed: string[] = [];
  for (const mirror of mirrors.sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (bytes <= limit) break;
    if (mirror.name === opts.keep) continue;
    // A leftover build shares its mirror's lock: busy while that mirror is being built.
    const lockName = `${mirror.name.replace(/\.building-[0-9a-f]+$/, "")}.lock`;
    const lock = await lockMirror(join(opts.dir, lockName), { wait: false });
    if (lock === undefined) continue;
    try {
      await rm(join(opts.dir, mirror.name), { recursive: true, force: true, maxRetries: 3 });
    } finally {
      await lock.release();
    }
    bytes -= mirror.bytes;
    removed.push(mirror.name);
    opts.logger.info({ mirror: mirror.name, freedBytes: mirror.bytes }, "evicted a repository mirror");
  }
  return { removed, bytes };
}

async function listMirrors(dir: string): Promise<CachedMirror[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const mirrors: CachedMirror[] = [];
  for (const name of entries) {
    // `<key>.git` and the `.building-*` leftovers of a killed build (they count, and go first).
    if (!/^[0-9a-f]{32}\.git(\.building-[0-9a-f]+)?$/.test(name)) continue;
    const marker = await stat(join(dir, name, mirrorCompleteMarker)).catch(() => undefined);
    mirrors.push({ name, lastUsed: marker?.mtimeMs ?? 0, bytes: await measureTree(join(dir, name)) });
  }
  return mirrors;
}

async function measureTree(path: string): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.blocks * 512;
  let total = info.blocks * 512;
  for (const entry of await readdir(path).catch(() => [] as string[])) {
    total += await measureTree(join(path, entry));
  }
  return total;
}
