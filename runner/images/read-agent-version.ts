import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { npmPackagePinSchema } from "./fetch-npm-package.ts";

const pinsSchema = z.array(npmPackagePinSchema);

/**
 * The version `airlock agents` shows: the pinned version of the CLI the image wraps
 * (`versionPackage`, the pin without an alias: Codex's platform package shares its name),
 * else the image folder's VERSION; undefined when neither can be read.
 */
export async function readAgentVersion(
  agent: AgentDefinition,
  imagesDir: string,
): Promise<string | undefined> {
  const folder = join(imagesDir, agent.image.contextDir);
  if (agent.versionPackage !== undefined) {
    const text = await readFile(join(folder, "npm-packages.json"), "utf8").catch(() => undefined);
    const pins = pinsSchema.safeParse(text === undefined ? undefined : JSON.parse(text));
    return pins.success
      ? pins.data.find((p) => p.name === agent.versionPackage && p.alias === undefined)?.version
      : undefined;
  }
  return (await readFile(join(folder, "VERSION"), "utf8").catch(() => undefined))?.trim();
}
