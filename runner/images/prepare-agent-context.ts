import { createHash } from "node:crypto";
import { readFile, readdir, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { fetchNpmPackage, npmPackagePinSchema, type NpmPackagePin } from "./fetch-npm-package.ts";
import { ImageBuildError } from "./image-build-error.ts";

export interface AgentContext {
  /** The folder sent to the engine, e.g. `agent-images/builtin`. */
  contextDir: string;
  dockerfile: string;
  /** `agent-images/<agent>/VERSION`. */
  version: string;
  packages: NpmPackagePin[];
  /** Build args naming each package's version: `openai` → `OPENAI_VERSION`. */
  packageBuildArgs: Record<string, string>;
  /** sha256 (hex) over the Dockerfile, the pins and every file the image copies. */
  inputsDigest: string;
}

export interface PrepareAgentContextOptions {
  imagesDir: string;
  agent: AgentDefinition;
  onProgress?: (line: string) => void;
  npmCommand?: string;
}

const pinsSchema = z.array(npmPackagePinSchema);
/** What a context may hold besides `.context/`; everything here is hashed into the digest. */
const hashedEntries = ["Dockerfile", "package.json", "npm-packages.json", "VERSION", "agent", "rootfs"];

/**
 * Makes an agent's folder buildable: the npm packages pinned in `npm-packages.json`
 * fetched on the host into `.context/` (checked; nothing else left there) and a digest of
 * the inputs for the image's content label.
 */
export async function prepareAgentContext(options: PrepareAgentContextOptions): Promise<AgentContext> {
  const contextDir = join(options.imagesDir, options.agent.image.contextDir);
  const dockerfile = options.agent.image.dockerfile;
  await readText(join(contextDir, dockerfile));
  const versionPath = join(contextDir, "VERSION");
  const version = (await readText(versionPath)).trim();
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/.test(version)) {
    throw new ImageBuildError(`${versionPath} must hold a version such as 0.1.0, found "${version}"`);
  }

  const pinPath = join(contextDir, "npm-packages.json");
  const pinText = await readFile(pinPath, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return "[]";
    throw new ImageBuildError(`cannot read ${pinPath}`, { cause: error });
  });
  let pinJson: unknown;
  try {
    pinJson = JSON.parse(pinText);
  } catch (error) {
    throw new ImageBuildError(`${pinPath} is not valid JSON`, { cause: error });
  }
  const parsed = pinsSchema.safeParse(pinJson);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "(root)"} ${i.message}`)
      .join("; ");
    throw new ImageBuildError(`${pinPath} is invalid: ${problems}`);
  }
  const packages = parsed.data;

  const cacheDir = join(contextDir, ".context");
  const keep = new Set<string>();
  const packageBuildArgs: Record<string, string> = {};
  for (const pkg of packages) {
    keep.add(
      await fetchNpmPackage({
        pkg,
        cacheDir,
        pinFile: relative(join(options.imagesDir, ".."), pinPath),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
      }),
    );
    packageBuildArgs[
      `${pkg.name
        .replace(/^@/, "")
        .replace(/[^A-Za-z0-9]+/g, "_")
        .toUpperCase()}_VERSION`
    ] = pkg.version;
  }
  if (packages.length > 0) await pruneContextCache(cacheDir, keep);

  const hash = createHash("sha256");
  hash.update(`agent\0${options.agent.id}\0`);
  for (const pkg of packages) hash.update(`package\0${pkg.name}@${pkg.version}\0${pkg.integrity}\0`);
  for (const entry of hashedEntries) {
    for (const file of await listFiles(join(contextDir, entry))) {
      const info = await stat(file);
      const executable = (info.mode & 0o111) !== 0;
      hash.update(`file\0${relative(contextDir, file).split(sep).join("/")}\0${executable ? "x" : "-"}\0`);
      hash.update(await readFile(file));
      hash.update("\0");
    }
  }
  return { contextDir, dockerfile, version, packages, packageBuildArgs, inputsDigest: hash.digest("hex") };
}

/** Old tarballs would be uploaded with every build: keep only the pinned ones. */
async function pruneContextCache(cacheDir: string, keep: Set<string>): Promise<void> {
  for (const entry of await readdir(cacheDir, { withFileTypes: true })) {
    const path = join(cacheDir, entry.name);
    if (entry.isFile() && !keep.has(path)) await rm(path, { force: true });
  }
}

/** The files under `path` (or `path` itself), sorted; nothing when it does not exist. */
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
      throw new ImageBuildError(`${child}: only plain files and folders belong in an agent's image folder`);
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
