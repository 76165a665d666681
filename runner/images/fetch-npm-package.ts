import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { ImageBuildError } from "./image-build-error.ts";

const execFileAsync = promisify(execFile);

/** A pinned npm package: what an image build copies from the host (never fetched in the image). */
export const npmPackagePinSchema = z.object({
  name: z.string().regex(/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/, "must be an npm package name"),
  version: z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, "must be an exact version such as 7.57.0"),
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]+=*$/, "must be an npm sha512- integrity string"),
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

  if (await isFile(target)) {
    if ((await computeIntegrity(target)) === pkg.integrity) {
      progress(`${label}: using cached ${fileName}`);
      return target;
    }
    progress(`${label}: cached ${fileName} does not match its pinned integrity; fetching it again`);
    await rm(target, { force: true });
  }

  progress(
    `${label}: fetching ${pkg.name}@${pkg.version} with npm${options.sizeHint ? ` (${options.sizeHint})` : ""}`,
  );
  // Packed into a private folder, then renamed: a half-written file is never at `target`.
  const staging = await mkdtemp(join(cacheDir, ".fetch-"));
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
          `Check that npm is installed and can reach its registry, or place ${fileName} in ${cacheDir} yourself.`,
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
    progress(`${label}: fetched ${fileName}`);
    return target;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
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
