import type { ProviderSettings, Settings } from "./load-settings.ts";

/** An LLM server as the proxy takes it (runner/proxy/choose-upstreams.ts, UpstreamConfig). */
export interface LlmUpstream {
  baseUrl: string;
  apiKey: string | undefined;
}

/**
 * The operator's LLM servers, for the runner, `airlock run` and `airlock proxy` alike. A
 * provider counts as configured by its key, or by its base URL alone: a local
 * OpenAI-compatible server (Ollama, vLLM) needs no key. A provider with neither is left out.
 */
export function chooseLlmUpstreams(settings: Pick<Settings, "openai" | "anthropic">): {
  openai?: LlmUpstream | undefined;
  anthropic?: LlmUpstream | undefined;
} {
  const configured = (p: ProviderSettings) => p.apiKey !== undefined || p.baseUrlSet;
  const upstreams: { openai?: LlmUpstream; anthropic?: LlmUpstream } = {};
  // Absent, not undefined: callers list the configured ones by their keys.
  if (configured(settings.openai))
    upstreams.openai = { baseUrl: settings.openai.baseUrl, apiKey: settings.openai.apiKey };
  if (configured(settings.anthropic))
    upstreams.anthropic = { baseUrl: settings.anthropic.baseUrl, apiKey: settings.anthropic.apiKey };
  return upstreams;
}
