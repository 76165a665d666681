import { z } from "zod";
import type { RoutingRule, UpstreamConfig } from "./choose-upstreams.ts";

/**
 * The operator's proxy file (AIRLOCK_PROXY_CONFIG, JSON or YAML): more upstreams, routing
 * and fallback. Keys stay out of the file: `apiKeyEnv` names the environment variable
 * that holds one, so the file can be committed or mounted without leaking anything.
 * `organization` / `project` choose which OpenAI organization and project an upstream
 * bills; the proxy never forwards an agent's own `openai-organization` / `openai-project`.
 */
const billingHeaders = {
  organization: z.string().min(1).max(200).optional(),
  project: z.string().min(1).max(200).optional(),
};
const proxyConfigSchema = z.strictObject({
  upstreams: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "upstream names are lowercase letters, digits, - and _"),
      z.strictObject({
        baseUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
        format: z.enum(["openai", "anthropic"]).default("openai"),
        apiKeyEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, "must name an environment variable")
          .optional(),
        ...billingHeaders,
      }),
    )
    .default({}),
  /** Organization and project for the OpenAI upstream set by OPENAI_API_KEY / OPENAI_BASE_URL. */
  openai: z.strictObject(billingHeaders).optional(),
  routing: z.array(z.strictObject({ match: z.string().min(1), provider: z.string().min(1) })).optional(),
  fallback: z.record(z.string(), z.array(z.string())).default({}),
});

export interface ProxyConfig {
  extra: Record<string, UpstreamConfig>;
  /** Billing headers for the environment's OpenAI upstream. */
  openai: { organization?: string | undefined; project?: string | undefined };
  routing: RoutingRule[] | undefined;
  fallback: Record<string, string[]>;
}

export function parseProxyConfig(data: unknown, source: string, env: NodeJS.ProcessEnv): ProxyConfig {
  const parsed = proxyConfigSchema.safeParse(data ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(`${source}: not a valid proxy configuration:\n${problems.join("\n")}`);
  }
  const config = parsed.data;
  const known = new Set(["openai", "anthropic", ...Object.keys(config.upstreams)]);
  const problems: string[] = [];
  const extra: Record<string, UpstreamConfig> = {};
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    if (name === "openai" || name === "anthropic") {
      problems.push(`upstreams.${name}: reserved; set it with ${name.toUpperCase()}_BASE_URL / _API_KEY`);
      continue;
    }
    const apiKey = upstream.apiKeyEnv === undefined ? undefined : env[upstream.apiKeyEnv];
    if (upstream.apiKeyEnv !== undefined && !apiKey) {
      problems.push(`upstreams.${name}.apiKeyEnv: ${upstream.apiKeyEnv} is not set`);
    }
    extra[name] = {
      baseUrl: upstream.baseUrl,
      format: upstream.format,
      apiKey,
      ...(upstream.organization === undefined ? {} : { organization: upstream.organization }),
      ...(upstream.project === undefined ? {} : { project: upstream.project }),
    };
  }
  for (const [i, rule] of (config.routing ?? []).entries()) {
    if (!known.has(rule.provider)) problems.push(`routing.${i}.provider: no upstream named ${rule.provider}`);
  }
  for (const [from, chain] of Object.entries(config.fallback)) {
    for (const name of [from, ...chain]) {
      if (!known.has(name)) problems.push(`fallback.${from}: no upstream named ${name}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${source}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  return { extra, openai: config.openai ?? {}, routing: config.routing, fallback: config.fallback };
}
