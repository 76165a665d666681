import { mkdir, writeFile } from "node:fs/promises";
import type { WrapperConfig } from "./read-wrapper-config.ts";

/**
 * Claude Code's user settings, written at start into its config dir (nothing of it is in
 * the image, and no key is: the run token reaches it through the environment only). The
 * same switches as the environment, where Claude Code also reads them from settings, so a
 * setting source that wins over the environment cannot turn one back on.
 */
export async function writeClaudeSettings(config: WrapperConfig): Promise<void> {
  await mkdir(config.configDir, { recursive: true, mode: 0o700 });
  const settings = {
    model: config.model,
    autoUpdates: false,
    includeCoAuthoredBy: false,
    env: {
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
      DISABLE_AUTOUPDATER: "1",
    },
    permissions: { defaultMode: "bypassPermissions" },
  };
  await writeFile(`${config.configDir}/settings.json`, `${JSON.stringify(settings, null, 2)}\n`, {
    mode: 0o600,
  });
}
