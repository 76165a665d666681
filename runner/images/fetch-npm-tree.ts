import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { copyFile, link, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { computeIntegrity } from "./fetch-npm-package.ts";
import { ImageBuildError } from "./image-build-error.ts";

const execFileAsync = promisify(execFile);

export interface FetchNpmTreeOptions {
  /** A folder holding `package.json` and its `package-lock.json` (every package pinned with its integrity). */
  treeDir: string;
  /** The build context's `.context/`. */
  cacheDir: string;
  /** The machine's cache (readPackageCacheDir): the packed tree is kept there once, by the lock's hash. */
  machineCacheDir: string;
  onProgress?: (line: string) => void;
  npmCommand?: string;
}

/**
 * A package with a dependency tree (OpenClaw: ~330 packages) for an image built with no
 * network: `npm ci --ignore-scripts --omit=dev` on the host, from the committed lock file,
 * so npm checks every tarball against the integrity the lock pins and runs none of their
 * scripts; the `node_modules` it makes is packed (reproducibly: sorted, root-owned, no
 * times) into the machine's cache under the lock's sha256, and linked into `.context/` as
 * `npm-tree-<hash>.tgz`. Returns that file's name. A changed lock is a new tree; an
 * unchanged one is never fetched twice on a machine. The packed file's own sha512 is kept
 * beside it and checked at every use: a file changed in either cache is packed anew.
 */
export async function fetchNpmTree(options: FetchNpmTreeOptions): Promise<string> {
  const progress = options.onProgress ?? (() => {});
  const lock = await readFile(join(options.treeDir, "package-lock.json")).catch((error: unknown) => {
    throw new ImageBuildError(
      `${options.treeDir}/package-lock.json is missing: make it with \`npm install --package-lock-only --ignore-scripts\` there`,
      { cause: error },
    );
  });
  const key = createHash("sha256").update(lock).digest("hex");
  const fileName = `npm-tree-${key.slice(0, 16)}.tgz`;
  const target = join(options.cacheDir, fileName);
  await mkdir(options.cacheDir, { recursive: true });
  const treesDir = join(options.machineCacheDir, "trees");
  const shared = join(treesDir, `${key}.tgz`);
  const sidecar = join(treesDir, `${key}.tgz.integrity`);
  await mkdir(treesDir, { recursive: true });
  const expected = (await readFile(sidecar, "utf8").catch(() => "")).trim();
  if (expected !== "" && (await hasIntegrity(target, expected))) {
    progress(`npm tree: using cached ${fileName}`);
    return fileName;
  }
  if (expected !== "" && (await hasIntegrity(shared, expected))) {
    progress(`npm tree: using ${key.slice(0, 16)} from the machine cache ${options.machineCacheDir}`);
  } else {
    await rm(shared, { force: true });
    await installAndPack(options, treesDir, shared);
    await writeFile(sidecar, `${await computeIntegrity(shared)}\n`);
    progress(`npm tree: installed and packed into the machine cache ${options.machineCacheDir}`);
  }
  const staging = await mkdtemp(join(options.cacheDir, ".link-"));
  try {
    await link(shared, join(staging, "file")).catch(() => copyFile(shared, join(staging, "file")));
    await rename(join(staging, "file"), target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return fileName;
}

async function installAndPack(options: FetchNpmTreeOptions, dir: string, target: string): Promise<void> {
  const npm = options.npmCommand ?? "npm";
  const staging = await mkdtemp(join(dir, ".install-"));
  try {
    for (const file of ["package.json", "package-lock.json"]) {
      await copyFile(join(options.treeDir, file), join(staging, file));
    }
    options.onProgress?.(
      `npm tree: npm ci --ignore-scripts --omit=dev from ${options.treeDir}/package-lock.json`,
    );
    try {
      await execFileAsync(
        npm,
        ["ci", "--ignore-scripts", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
        {
          cwd: staging,
          timeout: 20 * 60_000,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
      throw new ImageBuildError(
        `\`${npm} ci\` of ${options.treeDir} failed` +
          `${stderr ? `: ${stderr.split("\n").slice(-3).join(" ")}` : ""}. ` +
          "Check that npm can reach its registry; an integrity mismatch means a package differs from the lock.",
        { cause: error },
      );
    }
    const packed = join(staging, "tree.tgz");
    await execFileAsync(
      "tar",
      [
        "--sort=name",
        "--mtime=@0",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "-czf",
        packed,
        "node_modules",
      ],
      { cwd: staging, timeout: 20 * 60_000 },
    );
    await rename(packed, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function hasIntegrity(path: string, integrity: string): Promise<boolean> {
  return (await isFile(path)) && (await computeIntegrity(path)) === integrity;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
