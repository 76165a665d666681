import { mkdir, writeFile } from "node:fs/promises";
import type { WrapperConfig } from "./read-wrapper-config.ts";

/**
 * OpenClaw's config, written at start into its state directory (nothing of it is in the
 * image, and no key is: the provider's key is `${AIRLOCK_RUN_TOKEN}`, which OpenClaw reads
 * from its environment). One provider, `airlock`, speaking Anthropic Messages to the
 * bridge, with the run's model its only model (`mode: "replace"`: no other provider, no
 * hosted catalog refresh); update checks and telemetry off.
 */
export async function writeOpenclawConfig(config: WrapperConfig): Promise<string> {
  await mkdir(config.configDir, { recursive: true, mode: 0o700 });
  const settings = {
    models: {
      mode: "replace",
      catalogRefresh: { enabled: false },
      providers: {
        airlock: {
          baseUrl: config.baseUrl,
          api: "anthropic-messages",
          apiKey: "${AIRLOCK_RUN_TOKEN}",
          models: [{ id: config.model, name: config.model }],
        },
      },
    },
    agents: { defaults: { model: { primary: `airlock/${config.model}` } } },
    update: { checkOnStart: false },
    telemetry: { enabled: false },
  };
  const path = `${config.configDir}/openclaw.json`;
  await writeFile(path, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  return path;
}
