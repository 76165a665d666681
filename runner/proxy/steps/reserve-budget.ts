import type { ProxyContext } from "../proxy-context.ts";
import { findModelPrice } from "../price-table.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";
import type { ProxyRoute } from "../proxy-routes.ts";
import type { Reservation, RunAccount } from "../run-ledger.ts";
import { formatCostUnits } from "../usage.ts";
import type { ParsedRequest } from "./parse-request-body.ts";

const budgetRaiseHint = (runId: string) =>
  `an operator raises it with: airlock token --run ${runId} --budget-usd <amount> --budget-tokens <n>`;

function readNumberField(body: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const name of names) {
    const v = body[name];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return Math.ceil(v);
  }
  return undefined;
}

/** Input tokens are bounded by the body's bytes / 4; output by the request's own cap or the default. */
function estimateCall(
  ctx: ProxyContext,
  bodyBytes: number,
  request: ParsedRequest,
): { units: number; tokens: number } {
  const inputTokens = Math.ceil(bodyBytes / 4);
  const outputTokens =
    readNumberField(request.json, "max_tokens", "max_completion_tokens", "max_output_tokens") ??
    ctx.budgetPolicy.defaultMaxOutputTokens;
  const price = findModelPrice(ctx.prices, request.model)?.price;
  return {
    tokens: inputTokens + outputTokens,
    units: price ? Math.round(inputTokens * price.input * 10_000 + outputTokens * price.output * 10_000) : 0,
  };
}

/**
 * Step 6. Budget, checked and reserved in one synchronous step, so that parallel calls
 * cannot all see the same remaining budget. (The request's slot was taken in step 3a.)
 */
export function reserveBudget(
  ctx: ProxyContext,
  account: RunAccount,
  route: ProxyRoute,
  bodyBytes: number,
  request: ParsedRequest | undefined,
): StepResult<{ reservation: Reservation }> {
  const estimate =
    route.billable && request ? estimateCall(ctx, bodyBytes, request) : { units: 0, tokens: 0 };
  const reserved = ctx.ledger.reserve(account, estimate, route.billable);
  if (reserved.ok) return { ok: true, reservation: reserved.reservation };
  ctx.metrics.budgetRejections.inc({ limit: reserved.limit });
  const message =
    reserved.limit === "usd"
      ? `run ${account.runId} has spent its USD budget (${formatCostUnits(account.spentUnits)} of ${formatCostUnits(account.budgetUnits ?? 0)} USD); ${budgetRaiseHint(account.runId)}`
      : `run ${account.runId} has spent its token budget (${account.spentTokens} of ${account.budgetTokens ?? 0} tokens); ${budgetRaiseHint(account.runId)}`;
  return refuse(429, "budget", `budget_${reserved.limit}`, message);
}
