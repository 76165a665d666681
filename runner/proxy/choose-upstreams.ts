import type { WireFormat } from "./send-provider-error.ts";

/** One upstream LLM server. OpenAI-format base URLs include `/v1` (as the OpenAI SDK's); Anthropic's do not. */
export interface UpstreamConfig {
  baseUrl: string;
  apiKey?: string | undefined;
  /** Wire format; `openai` for the `extra` servers unless given (Ollama, vLLM, LM Studio). */
  format?: WireFormat;
  /** Sent as `openai-organization` / `openai-project`: the operator's choice of who is billed, never the agent's. */
  organization?: string | undefined;
  project?: string | undefined;
}

export interface ProxyUpstreams {
  openai?: UpstreamConfig | undefined;
  anthropic?: UpstreamConfig | undefined;
  /** More servers by name, e.g. `{ ollama: { baseUrl: "http://127.0.0.1:11434/v1" } }`. */
  extra?: Record<string, UpstreamConfig> | undefined;
}

/** `match` is a model id pattern where `*` matches anything, e.g. `claude-*` or `llama3*`. */
export interface RoutingRule {
  match: string;
  provider: string;
}

export interface ResolvedUpstream {
  name: string;
  format: WireFormat;
  origin: string;
  basePath: string;
  apiKey: string | undefined;
  organization: string | undefined;
  project: string | undefined;
}

export const defaultRouting: readonly RoutingRule[] = [
  { match: "claude-*", provider: "anthropic" },
  { match: "*", provider: "openai" },
];

export function resolveUpstreams(upstreams: ProxyUpstreams): Map<string, ResolvedUpstream> {
  const all = new Map<string, ResolvedUpstream>();
  const add = (name: string, config: UpstreamConfig | undefined, format: WireFormat) => {
    if (!config) return;
    const url = new URL(config.baseUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error(`upstream ${name}: base URL must be http(s), got ${url.protocol}`);
    }
    all.set(name, {
      name,
      format: config.format ?? format,
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ""),
      apiKey: config.apiKey,
      organization: config.organization,
      project: config.project,
    });
  };
  add("openai", upstreams.openai, "openai");
  add("anthropic", upstreams.anthropic, "anthropic");
  for (const [name, config] of Object.entries(upstreams.extra ?? {})) add(name, config, "openai");
  return all;
}

export interface CompiledRoutingRule {
  provider: string;
  test(model: string): boolean;
}

/** Compile routing patterns once, when the proxy is built. */
export function compileRouting(rules: readonly RoutingRule[]): CompiledRoutingRule[] {
  return rules.map((rule) => {
    if (!rule.match.includes("*"))
      return { provider: rule.provider, test: (model: string) => model === rule.match };
    const parts = rule.match.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const regex = new RegExp(`^${parts.join(".*")}$`);
    return { provider: rule.provider, test: (model: string) => regex.test(model) };
  });
}

/**
 * The upstreams to try for a request, in order: the first routing rule that matches the
 * model and names a configured server of the endpoint's wire format, then that server's
 * fallback chain (servers of the same format only: the proxy does not translate).
 */
export function chooseUpstreams(
  all: ReadonlyMap<string, ResolvedUpstream>,
  routing: readonly CompiledRoutingRule[],
  fallback: Readonly<Record<string, readonly string[]>>,
  format: WireFormat,
  model: string | undefined,
): ResolvedUpstream[] {
  let primary: ResolvedUpstream | undefined;
  for (const rule of routing) {
    const candidate = all.get(rule.provider);
    if (candidate?.format === format && (model === undefined || rule.test(model))) {
      primary = candidate;
      break;
    }
  }
  primary ??= all.get(format) ?? [...all.values()].find((u) => u.format === format);
  if (!primary) return [];
  const chain = [primary];
  for (const name of fallback[primary.name] ?? []) {
    const next = all.get(name);
    if (next && next.format === format && !chain.includes(next)) chain.push(next);
  }
  return chain;
}
