import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { copyFile, link, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { nodePackageSchema, type NodePackage } from "./fetch-node-package.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { prepareAgentContext } from "./prepare-agent-context.ts";
import { prepareBaseContext } from "./prepare-base-context.ts";
import { readContextFile, readPinFile } from "./read-context-file.ts";

const execFileAsync = promisify(execFile);

/** What `npm ci` is told: the image is Linux x64 whatever host stages it. */
const npmCiArgs = [
  "ci",
  "--omit=dev",
  "--ignore-scripts",
  "--os=linux",
  "--cpu=x64",
  "--no-audit",
  "--no-fund",
  "--loglevel=error",
];

export interface AirlockContext {
  /** `<root>/.context`: what the root Dockerfile copies (deps/, agent-images/). */
  contextDir: string;
  node: NodePackage;
  /** True when `npm ci` ran; false when the staged dependencies matched the lock file. */
  installedDependencies: boolean;
}

export interface PrepareAirlockContextOptions {
  /** The checkout: holds the root Dockerfile, package.json, package-lock.json, agent-images/. */
  rootDir: string;
  /**
   * The agents whose pinned packages the image carries, so that its runner can build their
   * images; default the builtin agent alone (an agent CLI's packages weigh 170-190 MB).
   */
  agents?: readonly AgentDefinition[];
  onProgress?: (line: string) => void;
  npmCommand?: string;
}

/**
 * Makes the root Dockerfile buildable with no registry inside the build, everything fetched
 * on the host: the base image's pinned Node package (the app runs on the Node its sandboxes
 * run), the chosen agents' pinned packages (the image carries agent-images/ with them, so a
 * runner in a container builds those agents' images through the host's Docker with no npm),
 * and the production dependencies installed by `npm ci --omit=dev` in `.context/deps`.
 * A second call with an unchanged lock file installs nothing, so the image's dependency
 * layer stays cached.
 */
export async function prepareAirlockContext(options: PrepareAirlockContextOptions): Promise<AirlockContext> {
  const { rootDir } = options;
  const progress = options.onProgress ?? (() => {});
  const contextDir = join(rootDir, ".context");
  const imagesDir = join(rootDir, "agent-images");
  const npm = options.npmCommand ? { npmCommand: options.npmCommand } : {};
  // Checked before anything is fetched: a Dockerfile that names another Node fails its COPY.
  const pinned = await readPinFile(join(imagesDir, "base/node-package.json"), nodePackageSchema);
  await assertDockerfileNodeVersion(join(rootDir, "Dockerfile"), pinned.version);
  const { node } = await prepareBaseContext({ imagesDir, onProgress: progress, ...npm });
  const folders = ["base"];
  for (const agent of options.agents ?? [getAgent("builtin")]) {
    await prepareAgentContext({ imagesDir, agent, onProgress: progress, ...npm });
    folders.push(agent.image.contextDir);
  }
  // .dockerignore keeps every agent-images/*/.context out of the build (a developer's
  // machine may hold every agent CLI there): the chosen ones are staged beside the deps.
  const staged = join(contextDir, "agent-images");
  await rm(staged, { recursive: true, force: true });
  for (const folder of folders) {
    await linkFolder(join(imagesDir, folder, ".context"), join(staged, folder, ".context"));
  }

  const installedDependencies = await stageDependencies(rootDir, join(contextDir, "deps"), progress, options);
  return { contextDir, node, installedDependencies };
}

async function assertDockerfileNodeVersion(dockerfile: string, pinned: string): Promise<void> {
  const declared = /^ARG NODE_VERSION=(\S+)\s*$/m.exec(await readContextFile(dockerfile))?.[1];
  if (declared !== pinned) {
    throw new ImageBuildError(
      `${dockerfile} declares ARG NODE_VERSION=${declared ?? "(none)"}, but agent-images/base/node-package.json pins ${pinned}; ` +
        "set the Dockerfile's default to the pinned version",
    );
  }
}

async function stageDependencies(
  rootDir: string,
  depsDir: string,
  progress: (line: string) => void,
  options: PrepareAirlockContextOptions,
): Promise<boolean> {
  const manifest = await readContextFile(join(rootDir, "package.json"));
  const lock = await readContextFile(join(rootDir, "package-lock.json"));
  const stamp = createHash("sha256")
    .update(`${manifest}\0${lock}\0${npmCiArgs.join(" ")}`)
    .digest("hex");
  const stampFile = join(depsDir, ".staged");
  const staged = await readFile(stampFile, "utf8").catch(() => "");
  if (staged === stamp && (await exists(join(depsDir, "node_modules")))) {
    progress("dependencies: staged ones match package-lock.json");
    return false;
  }

  progress("dependencies: npm ci --omit=dev into .context/deps");
  await rm(depsDir, { recursive: true, force: true });
  await mkdir(depsDir, { recursive: true });
  await writeFile(join(depsDir, "package.json"), manifest);
  await writeFile(join(depsDir, "package-lock.json"), lock);
  const npm = options.npmCommand ?? "npm";
  try {
    await execFileAsync(npm, npmCiArgs, {
      cwd: depsDir,
      timeout: 10 * 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new ImageBuildError(
      `\`${npm} ${npmCiArgs.join(" ")}\` failed in ${depsDir}` +
        `${stderr ? `: ${stderr.split("\n").slice(-3).join(" ")}` : ""}. ` +
        "Check that npm is installed and can reach its registry.",
      { cause: error },
    );
  }
  await removeTypeDeclarations(join(depsDir, "node_modules"));
  // Written last: an interrupted install is redone, never taken for a finished one.
  await writeFile(stampFile, stamp);
  return true;
}

/** Hard links where the filesystem allows (no second copy of a 50 MB tarball), else copies. */
async function linkFolder(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    await link(join(from, entry.name), join(to, entry.name)).catch(() =>
      copyFile(join(from, entry.name), join(to, entry.name)),
    );
  }
}

/** Type declarations and source maps: never loaded at run time, and 60% of the tree's bytes. */
const buildOnlyFile = /\.(d\.[cm]?ts|map)$/;

async function removeTypeDeclarations(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (entry.isFile() && buildOnlyFile.test(entry.name)) {
      await rm(join(entry.parentPath, entry.name));
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
