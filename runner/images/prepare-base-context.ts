import { createHash } from "node:crypto";
import { join } from "node:path";
import { hashContextFiles, pruneContextCache } from "./hash-context-files.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { readContextFile, readPinFile } from "./read-context-file.ts";
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
  const dockerfileText = await readContextFile(join(contextDir, dockerfile));
  const defaultBaseImage = /^ARG BASE_IMAGE=(\S+)\s*$/m.exec(dockerfileText)?.[1];
  if (!defaultBaseImage) {
    throw new ImageBuildError(
      `${join(contextDir, dockerfile)} must declare ARG BASE_IMAGE=<image> before its FROM`,
    );
  }

  const pinPath = join(contextDir, "node-package.json");
  const node = await readPinFile(pinPath, nodePackageSchema);

  const cacheDir = join(contextDir, ".context");
  const tarball = await fetchNodePackage({
    pkg: node,
    cacheDir,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
  });
  await pruneContextCache(cacheDir, new Set([tarball]));

  const hash = createHash("sha256");
  hash.update(`dockerfile\0${dockerfileText}\0node\0${node.name}@${node.version}\0${node.integrity}\0`);
  await hashContextFiles(hash, contextDir, ["rootfs", "agent-kit"]);
  return { contextDir, dockerfile, defaultBaseImage, node, inputsDigest: hash.digest("hex") };
}
