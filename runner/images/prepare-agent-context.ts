import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { z } from "zod";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { fetchNpmPackage, npmPackagePinSchema, type NpmPackagePin } from "./fetch-npm-package.ts";
import { hashContextFiles, pruneContextCache } from "./hash-context-files.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { readContextFile, readPinFile } from "./read-context-file.ts";
import { readPackageCacheDir } from "./read-package-cache-dir.ts";
import { fetchNpmTree } from "./fetch-npm-tree.ts";

export interface AgentContext {
  /** The folder sent to the engine, e.g. `agent-images/builtin`. */
  contextDir: string;
  dockerfile: string;
  /** `agent-images/<agent>/VERSION`. */
  version: string;
  packages: NpmPackagePin[];
  /** Build args naming each package's version: `openai` → `OPENAI_VERSION` (aliased: the alias). */
  packageBuildArgs: Record<string, string>;
  /** sha256 (hex) over the Dockerfile, the pins and every file the image copies. */
  inputsDigest: string;
}

export interface PrepareAgentContextOptions {
  imagesDir: string;
  agent: AgentDefinition;
  onProgress?: (line: string) => void;
  npmCommand?: string;
  /** The machine's tarball cache; default readPackageCacheDir(). */
  packageCacheDir?: string;
}

const pinsSchema = z.array(npmPackagePinSchema);
/** What a context may hold besides `.context/`; everything here is hashed into the digest. */
const hashedEntries = [
  "Dockerfile",
  "package.json",
  "npm-packages.json",
  "npm-tree",
  "VERSION",
  "agent",
  "rootfs",
];

/**
 * Makes an agent's folder buildable: the npm packages pinned in `npm-packages.json`
 * fetched on the host into `.context/` (checked; nothing else left there) and a digest of
 * the inputs for the image's content label.
 */
export async function prepareAgentContext(options: PrepareAgentContextOptions): Promise<AgentContext> {
  const contextDir = join(options.imagesDir, options.agent.image.contextDir);
  const dockerfile = options.agent.image.dockerfile;
  await readContextFile(join(contextDir, dockerfile));
  const versionPath = join(contextDir, "VERSION");
  const version = (await readContextFile(versionPath)).trim();
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/.test(version)) {
    throw new ImageBuildError(`${versionPath} must hold a version such as 0.1.0, found "${version}"`);
  }

  const pinPath = join(contextDir, "npm-packages.json");
  const packages = await readPinFile(pinPath, pinsSchema, "[]");

  const cacheDir = join(contextDir, ".context");
  const keep = new Set<string>();
  const packageBuildArgs: Record<string, string> = {};
  for (const pkg of packages) {
    keep.add(
      await fetchNpmPackage({
        pkg,
        cacheDir,
        pinFile: relative(join(options.imagesDir, ".."), pinPath),
        machineCacheDir: options.packageCacheDir ?? readPackageCacheDir(),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
      }),
    );
    // An aliased package is named by its alias: Codex's platform package has the same
    // npm name as Codex itself, and each needs its own build arg.
    packageBuildArgs[
      `${(pkg.alias ?? pkg.name)
        .replace(/^@/, "")
        .replace(/[^A-Za-z0-9]+/g, "_")
        .toUpperCase()}_VERSION`
    ] = pkg.version;
  }
  // A package with a dependency tree (npm-tree/package-lock.json): installed on the host
  // from the lock, packed, passed as NPM_TREE.
  if (await isFile(join(contextDir, "npm-tree", "package-lock.json"))) {
    const tree = await fetchNpmTree({
      treeDir: join(contextDir, "npm-tree"),
      cacheDir,
      machineCacheDir: options.packageCacheDir ?? readPackageCacheDir(),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
    });
    keep.add(join(cacheDir, tree));
    packageBuildArgs.NPM_TREE = tree;
  }
  if (keep.size > 0) await pruneContextCache(cacheDir, keep);

  const hash = createHash("sha256");
  hash.update(`agent\0${options.agent.id}\0`);
  for (const pkg of packages) {
    if (pkg.alias !== undefined) hash.update(`alias\0${pkg.alias}\0`);
    hash.update(`package\0${pkg.name}@${pkg.version}\0${pkg.integrity}\0`);
  }
  await hashContextFiles(hash, contextDir, hashedEntries);
  return { contextDir, dockerfile, version, packages, packageBuildArgs, inputsDigest: hash.digest("hex") };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
