import type { Hash } from "node:crypto";
import { readFile, readdir, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { ImageBuildError } from "./image-build-error.ts";

/**
 * Feed every file under `entries` (paths relative to the context; files or folders;
 * absent ones skipped) into `hash`, in a stable order, with its path and executable bit:
 * the image's content digest changes exactly when what it copies changes.
 */
export async function hashContextFiles(
  hash: Hash,
  contextDir: string,
  entries: readonly string[],
): Promise<void> {
  for (const entry of entries) {
    for (const file of await listFiles(join(contextDir, entry))) {
      const info = await stat(file);
      const executable = (info.mode & 0o111) !== 0;
      hash.update(`file\0${relative(contextDir, file).split(sep).join("/")}\0${executable ? "x" : "-"}\0`);
      hash.update(await readFile(file));
      hash.update("\0");
    }
  }
}

/** Old tarballs in `.context/` would be uploaded with every build: keep only these. */
export async function pruneContextCache(cacheDir: string, keep: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(cacheDir, { withFileTypes: true })) {
    const path = join(cacheDir, entry.name);
    if (entry.isFile() && !keep.has(path)) await rm(path, { force: true });
  }
}

async function listFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return [];
  }
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(child)));
    else if (entry.isFile()) files.push(child);
    else
      throw new ImageBuildError(`${child}: only plain files and folders belong in an image's build context`);
  }
  return files;
}
