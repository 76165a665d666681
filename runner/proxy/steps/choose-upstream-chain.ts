import { chooseUpstreams, type ResolvedUpstream } from "../choose-upstreams.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";
import type { WireFormat } from "../send-provider-error.ts";

/** Step 5. Where the call goes: the routed upstream, then its fallbacks of the same wire format. */
export function chooseUpstreamChain(
  ctx: ProxyContext,
  format: WireFormat,
  model: string | undefined,
): StepResult<{ chain: ResolvedUpstream[] }> {
  const chain = chooseUpstreams(ctx.upstreams, ctx.routing, ctx.fallback, format, model);
  if (chain.length > 0) return { ok: true, chain };
  const envHint =
    format === "anthropic" ? "ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL" : "OPENAI_API_KEY / OPENAI_BASE_URL";
  return refuse(
    503,
    "unavailable",
    "no_upstream",
    `no ${format}-format upstream is configured on this proxy (set ${envHint})`,
  );
}
