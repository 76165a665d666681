import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { copyFile, link, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { ImageBuildError } from "./image-build-error.ts";

const execFileAsync = promisify(execFile);

const npmName = z.string().regex(/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/, "must be an npm package name");

/**
 * A pinned npm package: what an image build copies from the host (never fetched in the
 * image). An exact version, optionally with a pre-release tag: Codex publishes its
 * platform binaries as `@openai/codex@0.171.0-linux-x64`, which its package installs
 * under the alias `@openai/codex-linux-x64` (the pin's `alias`).
 */
export const npmPackagePinSchema = z.object({
  name: npmName,
  version: z
    .string()
    .regex(
      /^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/,
      "must be an exact version such as 7.57.0 or 0.171.0-linux-x64",
    ),
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]+=*$/, "must be an npm sha512- integrity string"),
  alias: npmName.optional(),
});
export type NpmPackagePin = z.infer<typeof npmPackagePinSchema>;

export interface FetchNpmPackageOptions {
  pkg: NpmPackagePin;
  /** Where the tarball is kept between builds (gitignored `.context/`). */
  cacheDir: string;
  /** The file that pins the package, named in errors (e.g. agent-images/builtin/openai-package.json). */
  pinFile: string;
  /** Prefix of progress lines; default the package name. */
  label?: string;
  sizeHint?: string;
  onProgress?: (line: string) => void;
  /** The npm executable; default `npm` from PATH. */
  npmCommand?: string;
  /**
   * The machine's tarball cache, keyed by integrity (readPackageCacheDir): a tarball
   * fetched once is linked into every checkout's cacheDir from there. Without it, each
   * cacheDir fetches for itself.
   */
  machineCacheDir?: string;
}

/** The tarball name `npm pack` writes: `@scope/x` becomes `scope-x-<version>.tgz`. */
export function npmTarballName(pkg: Pick<NpmPackagePin, "name" | "version">): string {
  return `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`;
}

/**
 * Returns the path of the package's tarball in cacheDir, fetching it with the host's npm
 * when missing. Every use checks the pinned integrity, so a truncated download or a
 * swapped file in the cache never reaches an image; the image build itself needs no
 * network and no CA bundle.
 */
export async function fetchNpmPackage(options: FetchNpmPackageOptions): Promise<string> {
  const { pkg, cacheDir } = options;
  const progress = options.onProgress ?? (() => {});
  const label = options.label ?? pkg.name;
  const fileName = npmTarballName(pkg);
  const target = join(cacheDir, fileName);
  await mkdir(cacheDir, { recursive: true });

  if (await hasIntegrity(target, pkg.integrity)) {
    progress(`${label}: using cached ${fileName}`);
    return target;
  }
  if (await isFile(target)) {
    progress(`${label}: cached ${fileName} does not match its pinned integrity; fetching it again`);
    await rm(target, { force: true });
  }
  if (options.machineCacheDir === undefined) {
    await packInto(options, cacheDir, target);
    progress(`${label}: fetched ${fileName}`);
    return target;
  }

  // The machine cache holds each tarball under its integrity: a file there was checked
  // when it arrived and is checked again before each use (a swapped file is fetched anew).
  const keyDir = join(options.machineCacheDir, integrityKey(pkg.integrity));
  const shared = join(keyDir, fileName);
  if (await hasIntegrity(shared, pkg.integrity)) {
    progress(`${label}: using ${fileName} from the machine cache ${options.machineCacheDir}`);
  } else {
    await mkdir(keyDir, { recursive: true });
    await rm(shared, { force: true });
    await packInto(options, keyDir, shared);
    progress(`${label}: fetched ${fileName} into the machine cache ${options.machineCacheDir}`);
  }
  await placeCopy(shared, cacheDir, target);
  return target;
}

/**
 * `npm pack` into a private folder beside `target`, checked against the pin, then renamed:
 * a half-written or unchecked file is never at `target`.
 */
async function packInto(options: FetchNpmPackageOptions, dir: string, target: string): Promise<void> {
  const { pkg } = options;
  const progress = options.onProgress ?? (() => {});
  const fileName = npmTarballName(pkg);
  progress(
    `${options.label ?? pkg.name}: fetching ${pkg.name}@${pkg.version} with npm${options.sizeHint ? ` (${options.sizeHint})` : ""}`,
  );
  const staging = await mkdtemp(join(dir, ".fetch-"));
  try {
    const npm = options.npmCommand ?? "npm";
    try {
      await execFileAsync(
        npm,
        ["pack", `${pkg.name}@${pkg.version}`, "--pack-destination", staging, "--silent"],
        { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      );
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
      throw new ImageBuildError(
        `could not fetch ${pkg.name}@${pkg.version} with \`${npm} pack\`` +
          `${stderr ? `: ${stderr.split("\n").slice(-3).join(" ")}` : ""}. ` +
          `Check that npm is installed and can reach its registry, or place ${fileName} in ${options.cacheDir} yourself.`,
        { cause: error },
      );
    }
    const fetched = join(staging, fileName);
    if (!(await isFile(fetched))) {
      const found = await readdir(staging);
      throw new ImageBuildError(
        `npm pack did not produce ${fileName} (found: ${found.join(", ") || "nothing"})`,
      );
    }
    const integrity = await computeIntegrity(fetched);
    if (integrity !== pkg.integrity) {
      throw new ImageBuildError(
        `${fileName} from npm has integrity ${integrity}, but ${options.pinFile} pins ` +
          `${pkg.integrity}. Refusing to build with it; update the pin only if this release is the one you meant.`,
      );
    }
    await rename(fetched, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A hard link when both folders share a filesystem (no second copy of 400 MB), else a copy. */
async function placeCopy(source: string, dir: string, target: string): Promise<void> {
  const staging = await mkdtemp(join(dir, ".link-"));
  try {
    const staged = join(staging, "file");
    await link(source, staged).catch(() => copyFile(source, staged));
    await rename(staged, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The folder name of an integrity in the machine cache: its digest in base64url. */
function integrityKey(integrity: string): string {
  return integrity
    .replace(/^sha512-/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function hasIntegrity(path: string, integrity: string): Promise<boolean> {
  return (await isFile(path)) && (await computeIntegrity(path)) === integrity;
}

/** npm's `sha512-<base64>` integrity of a file. */
export async function computeIntegrity(path: string): Promise<string> {
  const hash = createHash("sha512");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest("base64")}`;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
