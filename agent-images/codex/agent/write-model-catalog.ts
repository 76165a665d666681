import { readFile, writeFile } from "node:fs/promises";

/** Dumped at build time by `codex debug models --bundled` (see the Dockerfile). */
const bundledCatalogPath = "/opt/codex/bundled-models.json";

type ModelInfo = Record<string, unknown> & { slug: string };

/**
 * Codex shapes its prompt and its tools (apply_patch, the shell tool, reasoning) from its
 * model catalog; for a model it does not know it falls back to metadata without
 * apply_patch. The run's model is whatever the operator allows (say `gpt-5`), so the
 * wrapper describes it as a copy of a bundled profile (AIRLOCK_CODEX_MODEL_PROFILE) under
 * the run's model id, with what would cost more or reach further taken out: no priority
 * tier (billed above the price table), no WebSocket preference, no hosted search.
 * Returns the catalog's path, or undefined when Codex knows the model already.
 */
export async function writeModelCatalog(options: {
  model: string;
  profile: string;
  configDir: string;
}): Promise<string | undefined> {
  const catalog = JSON.parse(await readFile(bundledCatalogPath, "utf8")) as { models: ModelInfo[] };
  if (catalog.models.some((m) => m.slug === options.model)) return undefined;
  const profile = catalog.models.find((m) => m.slug === options.profile);
  if (!profile) {
    const known = catalog.models.map((m) => m.slug).join(", ");
    throw new Error(`AIRLOCK_CODEX_MODEL_PROFILE "${options.profile}" is not in Codex's catalog (${known})`);
  }
  const model: ModelInfo = {
    ...profile,
    slug: options.model,
    display_name: options.model,
    prefer_websockets: false,
    supports_search_tool: false,
    service_tiers: [],
    additional_speed_tiers: [],
    default_service_tier: null,
    upgrade: null,
    availability_nux: null,
  };
  const path = `${options.configDir}/airlock-models.json`;
  await writeFile(path, `${JSON.stringify({ models: [...catalog.models, model] })}\n`, { mode: 0o600 });
  return path;
}
