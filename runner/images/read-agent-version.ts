import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { npmPackagePinSchema } from "./fetch-npm-package.ts";

const pinsSchema = z.array(npmPackagePinSchema);

/**
 * The version `airlock agents` shows: the pinned version of the CLI the image wraps
 * (`versionPackage`, the pin without an alias: Codex's platform package shares its name),
 * or its version in the dependency tree the image pins (npm-tree/package-lock.json), else
 * the image folder's VERSION; undefined when none can be read.
 */
export async function readAgentVersion(
  agent: AgentDefinition,
  imagesDir: string,
): Promise<string | undefined> {
  const folder = join(imagesDir, agent.image.contextDir);
  if (agent.versionPackage !== undefined) {
    const text = await readFile(join(folder, "npm-packages.json"), "utf8").catch(() => undefined);
    const pins = pinsSchema.safeParse(text === undefined ? undefined : JSON.parse(text));
    const pinned = pins.success
      ? pins.data.find((p) => p.name === agent.versionPackage && p.alias === undefined)?.version
      : undefined;
    return pinned ?? (await readTreeVersion(folder, agent.versionPackage));
  }
  return (await readFile(join(folder, "VERSION"), "utf8").catch(() => undefined))?.trim();
}

const lockSchema = z.object({ packages: z.record(z.string(), z.object({ version: z.string().optional() })) });

async function readTreeVersion(folder: string, name: string): Promise<string | undefined> {
  const text = await readFile(join(folder, "npm-tree", "package-lock.json"), "utf8").catch(() => undefined);
  const lock = lockSchema.safeParse(text === undefined ? undefined : JSON.parse(text));
  return lock.success ? lock.data.packages[`node_modules/${name}`]?.version : undefined;
}
