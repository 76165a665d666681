import { createHash } from "node:crypto";
import { readFile, readdir, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { ImageBuildError } from "./image-build-error.ts";
import { fetchNodePackage, nodePackageSchema, type NodePackage } from "./fetch-node-package.ts";

export interface BaseContext {
  /** The folder sent to the engine: `agent-images/base`. */
  contextDir: string;
  dockerfile: string;
  /** `ARG BASE_IMAGE=` default of the Dockerfile, e.g. debian:bookworm-slim. */
  defaultBaseImage: string;
  node: NodePackage;
  /** sha256 (hex) over everything the Dockerfile copies or runs, independent of mtimes. */
  inputsDigest: string;
}

export interface PrepareBaseContextOptions {
  imagesDir: string;
  onProgress?: (line: string) => void;
  npmCommand?: string;
}

/**
 * Makes `agent-images/base` buildable: the pinned Node tarball in `.context/` (fetched on
 * the host and checked; nothing else left there, since the whole folder is sent to the
 * engine) and a digest of the inputs for the content tag.
 */
export async function prepareBaseContext(options: PrepareBaseContextOptions): Promise<BaseContext> {
  const contextDir = join(options.imagesDir, "base");
  const dockerfile = "Dockerfile";
  const dockerfileText = await readText(join(contextDir, dockerfile));
  const defaultBaseImage = /^ARG BASE_IMAGE=(\S+)\s*$/m.exec(dockerfileText)?.[1];
  if (!defaultBaseImage) {
    throw new ImageBuildError(
      `${join(contextDir, dockerfile)} must declare ARG BASE_IMAGE=<image> before its FROM`,
    );
  }

  const pinPath = join(contextDir, "node-package.json");
  const parsed = nodePackageSchema.safeParse(parseJson(await readText(pinPath), pinPath));
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "(root)"} ${i.message}`)
      .join("; ");
    throw new ImageBuildError(`${pinPath} is invalid: ${problems}`);
  }
  const node = parsed.data;

  const cacheDir = join(contextDir, ".context");
  const tarball = await fetchNodePackage({
    pkg: node,
    cacheDir,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
  });
  await pruneContextCache(cacheDir, tarball);

  const hash = createHash("sha256");
  hash.update(`dockerfile\0${dockerfileText}\0node\0${node.name}@${node.version}\0${node.integrity}\0`);
  for (const file of await listFiles(join(contextDir, "rootfs"))) {
    const info = await stat(file);
    const executable = (info.mode & 0o111) !== 0;
    hash.update(`file\0${relative(contextDir, file).split(sep).join("/")}\0${executable ? "x" : "-"}\0`);
    hash.update(await readFile(file));
    hash.update("\0");
  }
  return { contextDir, dockerfile, defaultBaseImage, node, inputsDigest: hash.digest("hex") };
}

/** Old Node tarballs would be uploaded with every build: keep only the current one. */
async function pruneContextCache(cacheDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(cacheDir, { withFileTypes: true })) {
    const path = join(cacheDir, entry.name);
    if (entry.isFile() && path !== keep) await rm(path, { force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
    else throw new ImageBuildError(`${path}: only plain files and folders belong in an image's rootfs/`);
  }
  return files;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ImageBuildError(`cannot read ${path}; is this an Airlock checkout?`, { cause: error });
  }
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ImageBuildError(`${path} is not valid JSON`, { cause: error });
  }
}
