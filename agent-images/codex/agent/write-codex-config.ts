import { mkdir, writeFile } from "node:fs/promises";
import type { WrapperConfig } from "./read-wrapper-config.ts";
import { writeModelCatalog } from "./write-model-catalog.ts";

/** A TOML basic string: JSON's escapes are TOML's for the characters a URL or model id holds. */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

/**
 * Codex's config.toml, written at start into CODEX_HOME (nothing of it is in the image, and
 * no key is: Codex reads the run token from the environment variable `env_key` names).
 *
 * - A provider of its own, `airlock`: Codex 0.171 ignores OPENAI_BASE_URL, and its built-in
 *   `openai` provider first tries a Responses WebSocket. This one speaks streaming
 *   Responses over HTTP only, with bounded retries, so a refused token or a spent budget
 *   ends the run in seconds (unbounded, a 5xx is retried ~30 times).
 * - Every non-LLM call off: analytics (Statsig metrics to ab.chatgpt.com), the plugin
 *   marketplace sync (chatgpt.com, github.com), OpenTelemetry exporters, update checks,
 *   web search (a provider-hosted tool the proxy refuses without a grant).
 * - Approvals off and Codex's own sandbox off: its bubblewrap needs user namespaces, which
 *   Airlock's seccomp profile refuses; the container is the sandbox.
 * - The run's model described from a bundled profile (writeModelCatalog).
 * - The shell gets the environment the wrapper gives Codex, run token included, so
 *   `airlock-request` works there (Codex drops *TOKEN* variables by default).
 */
export async function writeCodexConfig(config: WrapperConfig): Promise<void> {
  await mkdir(config.configDir, { recursive: true, mode: 0o700 });
  const catalog = await writeModelCatalog({
    model: config.model,
    profile: config.modelProfile,
    configDir: config.configDir,
  });
  const toml = [
    `model = ${tomlString(config.model)}`,
    ...(catalog ? [`model_catalog_json = ${tomlString(catalog)}`] : []),
    'model_provider = "airlock"',
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    "check_for_update_on_startup = false",
    'web_search = "disabled"',
    "",
    "[model_providers.airlock]",
    'name = "Airlock"',
    `base_url = ${tomlString(config.baseUrl)}`,
    'env_key = "AIRLOCK_RUN_TOKEN"',
    'wire_api = "responses"',
    "requires_openai_auth = false",
    "supports_websockets = false",
    `request_max_retries = ${config.maxRetries}`,
    `stream_max_retries = ${config.maxRetries}`,
    "stream_idle_timeout_ms = 300000",
    "",
    "[analytics]",
    "enabled = false",
    "",
    "[features]",
    "plugins = false",
    // Sub-agents come as a Responses `namespace` tool, which the proxy refuses as a hosted
    // tool type; a sealed run is one agent anyway.
    "multi_agent = false",
    "",
    "[otel]",
    'exporter = "none"',
    'trace_exporter = "none"',
    'metrics_exporter = "none"',
    "",
    "[history]",
    'persistence = "none"',
    "",
    "[shell_environment_policy]",
    'inherit = "all"',
    "ignore_default_excludes = true",
    "",
  ].join("\n");
  await writeFile(`${config.configDir}/config.toml`, toml, { mode: 0o600 });
}
