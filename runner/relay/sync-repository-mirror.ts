import { createHash, randomBytes } from "node:crypto";
import { access, mkdir, readdir, rename, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../core/logger.ts";
import type { GitAuth, GitRunner } from "./git-runner.ts";
import { lockMirror } from "./lock-mirror.ts";
import type { GitRemote } from "./parse-git-remote.ts";
import { RelayError } from "./relay-error.ts";

/** Where the runner keeps one bare mirror per repository (AIRLOCK_MIRROR_DIR), and its size cap. */
export type MirrorCache = { dir: string; maxMb: number };

export type SyncRepositoryMirrorInput = {
  git: GitRunner;
  cacheDir: string;
  remote: GitRemote;
  /** For this process's fetch only; never written into the mirror (see git-runner.ts). */
  auth?: GitAuth | undefined;
  /** Extra environment for commands that read the remote (trustLocalRepository for a path). */
  remoteEnv?: Record<string, string> | undefined;
  logger: Logger;
  signal?: AbortSignal | undefined;
};

export type SyncedMirror = {
  gitDir: string;
  /** The file name of this mirror in the cache folder (`<key>.git`). */
  name: string;
  /** The mirror was (re)built from scratch rather than updated. */
  rebuilt: boolean;
};

/**
 * Written last when a mirror is built, so a folder without it (a build killed halfway)
 * is never read; its mtime is the mirror's last use, which pruneMirrorCache evicts by.
 */
export const mirrorCompleteMarker = "airlock-mirror.json";

const refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/** The mirror's file name: a hash of the credential-free remote, so no name or token shows in a path. */
export function mirrorNameFor(remote: GitRemote): string {
  return `${createHash("sha256").update(remote.location).digest("hex").slice(0, 32)}.git`;
}

/**
 * Brings the repository's mirror up to date under its lock, then calls `read` with the lock
 * still held, so no fetch, rebuild or eviction changes the mirror while a checkout reads
 * it (issue 15: two runs of one repository on one host at once). The mirror is a bare
 * repository under the runner's cache folder, never under a run folder, so no workspace
 * holds it or a path to it. The fetch names the remote on the command line (no remote is
 * configured) and takes credentials from this command's environment only, so the
 * mirror's config, FETCH_HEAD (not written) and reflogs never hold a token.
 *
 * A mirror that is half-built (no marker), fails to update and then fails fsck, or fails
 * while `read` copies from it, is deleted and built again from the remote, once.
 */
export async function syncRepositoryMirror<T>(
  input: SyncRepositoryMirrorInput,
  read: (mirror: SyncedMirror) => Promise<T>,
): Promise<T> {
  const name = mirrorNameFor(input.remote);
  const gitDir = join(input.cacheDir, name);
  const logger = input.logger.child({ mirror: name });
  await mkdir(input.cacheDir, { recursive: true, mode: 0o700 });
  const lock = await lockMirror(join(input.cacheDir, `${name}.lock`), { wait: true, signal: input.signal });
  if (lock === undefined) throw new RelayError(`Could not lock the repository mirror ${name}.`);
  try {
    await removeAbandonedBuilds(input.cacheDir, name);
    let rebuilt = false;
    if (await isComplete(gitDir)) {
      try {
        await fetchInto(input, gitDir);
      } catch (error) {
        if (await isSound(input.git, gitDir)) throw error;
        logger.warn({ err: error }, "the repository mirror is corrupt; building it again");
        await buildMirror(input, gitDir);
        rebuilt = true;
      }
    } else {
      logger.info("building the repository mirror");
      await buildMirror(input, gitDir);
      rebuilt = true;
    }
    await utimes(join(gitDir, mirrorCompleteMarker), new Date(), new Date());
    try {
      return await read({ gitDir, name, rebuilt });
    } catch (error) {
      if (rebuilt || !(error instanceof MirrorReadError)) throw error;
      logger.warn({ err: error }, "reading the repository mirror failed; building it again");
      await buildMirror(input, gitDir);
      return await read({ gitDir, name, rebuilt: true });
    }
  } finally {
    await lock.release();
  }
}

/** Thrown by a `read` callback when copying out of the mirror failed: the mirror is rebuilt once. */
export class MirrorReadError extends RelayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MirrorReadError";
  }
}

async function isComplete(gitDir: string): Promise<boolean> {
  return access(join(gitDir, mirrorCompleteMarker)).then(
    () => true,
    () => false,
  );
}

/** Every object reachable from the refs is present and links up (not a full blob check: that is read's job). */
async function isSound(git: GitRunner, gitDir: string): Promise<boolean> {
  const result = await git.run(["fsck", "--connectivity-only", "--no-dangling", "--no-progress"], {
    gitDir,
    okExitCodes: [1, 2, 3, 4, 5, 6, 7, 8, 128],
  });
  return result.exitCode === 0;
}

/**
 * Builds the mirror in a fresh folder beside it and renames it into place only once it is
 * complete: a build killed halfway leaves a `.building-*` folder (removed under the lock
 * by the next run), never a mirror that looks usable.
 */
async function buildMirror(input: SyncRepositoryMirrorInput, gitDir: string): Promise<void> {
  const building = `${gitDir}.building-${randomBytes(4).toString("hex")}`;
  await input.git.run(["init", "--quiet", "--bare", "--", building]);
  // Every fetch keeps its pack (none unpacked into loose objects), so a host clone links a
  // handful of pack files rather than one file per object.
  await input.git.run(["config", "transfer.unpackLimit", "1"], { gitDir: building });
  await fetchInto(input, building);
  await writeFile(
    join(building, mirrorCompleteMarker),
    `${JSON.stringify({ remote: input.remote.location, builtAt: new Date().toISOString() })}\n`,
  );
  await rm(gitDir, { recursive: true, force: true, maxRetries: 3 });
  await rename(building, gitDir);
}

async function fetchInto(input: SyncRepositoryMirrorInput, gitDir: string): Promise<void> {
  const options = { gitDir, auth: input.auth, env: input.remoteEnv };
  await input.git.run(
    [
      "fetch",
      "--quiet",
      "--prune",
      "--no-write-fetch-head",
      "--no-recurse-submodules",
      "--",
      input.remote.location,
      ...refspecs,
    ],
    options,
  );
  // The remote's default branch, so a run without a ref starts where a clone would.
  const head = await input.git.run(["ls-remote", "--symref", "--", input.remote.location, "HEAD"], options);
  const target = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(head.stdout.toString("utf8"))?.[1];
  if (target !== undefined) await input.git.run(["symbolic-ref", "HEAD", target], { gitDir });
  await consolidatePacks(input.git, gitDir);
}

/** Each fetch adds a pack; past a handful, merge the small ones so reads stay fast (cost grows with what is merged). */
async function consolidatePacks(git: GitRunner, gitDir: string): Promise<void> {
  const packs = (await readdir(join(gitDir, "objects", "pack"))).filter((n) => n.endsWith(".pack"));
  if (packs.length <= 16) return;
  await git.run(["repack", "-d", "-q", "--geometric=2"], { gitDir });
}

async function removeAbandonedBuilds(cacheDir: string, name: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (entry.startsWith(`${name}.building-`)) {
      await rm(join(cacheDir, entry), { recursive: true, force: true, maxRetries: 3 });
    }
  }
}
