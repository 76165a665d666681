import { copyFile, link, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Gives a host clone every object of the mirror by hard-linking its packs (and any loose
 * object): no bytes are copied, and unlike `objects/info/alternates` the clone keeps no
 * path into the cache, so evicting or rebuilding the mirror later (while a run waits for
 * approval) leaves the clone whole. Git never rewrites a pack or an object file in
 * place, so a shared inode cannot change under either repository. Across filesystems
 * (AIRLOCK_MIRROR_DIR elsewhere) the files are copied instead.
 */
export async function linkMirrorObjects(mirrorGitDir: string, cloneGitDir: string): Promise<number> {
  const from = join(mirrorGitDir, "objects");
  const to = join(cloneGitDir, "objects");
  let files = 0;
  for (const folder of await readdir(from)) {
    if (folder === "info") continue;
    const wanted =
      folder === "pack"
        ? (name: string) => /^pack-[0-9a-f]+\.(pack|idx|rev)$/.test(name)
        : /^[0-9a-f]{2}$/.test(folder)
          ? (name: string) => /^[0-9a-f]+$/.test(name)
          : undefined;
    if (wanted === undefined) continue;
    await mkdir(join(to, folder), { recursive: true });
    for (const name of (await readdir(join(from, folder))).filter(wanted)) {
      const source = join(from, folder, name);
      const target = join(to, folder, name);
      await link(source, target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== "EXDEV") throw error;
        await copyFile(source, target);
      });
      files += 1;
    }
  }
  return files;
}
