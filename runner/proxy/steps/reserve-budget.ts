import { planOutputCap } from "../policy/plan-output-cap.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { findModelPrice } from "../price-table.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";
import type { ProxyRoute } from "../proxy-routes.ts";
import { readBudgetLeft, type Reservation, type RunAccount } from "../run-ledger.ts";
import { formatCostUnits } from "../usage.ts";
import type { ParsedRequest } from "./parse-request-body.ts";

/**
 * How to raise it, and that sending the call again will not help: "out of budget" is also
 * the words agent CLIs (OpenClaw) read as a billing stop rather than a rate limit to retry
 * for minutes (issue 12).
 */
const budgetRaiseHint = (runId: string) =>
  `an operator raises it with: airlock token --run ${runId} --budget-usd <amount> --budget-tokens <n>; ` +
  "until then the run is out of budget and sending the call again will not help";

function isSpent(account: RunAccount, limit: "usd" | "tokens"): boolean {
  return limit === "usd"
    ? account.spentUnits >= (account.budgetUnits ?? 0)
    : account.spentTokens >= (account.budgetTokens ?? 0);
}

function describeBudget(account: RunAccount, limit: "usd" | "tokens"): string {
  return limit === "usd"
    ? `its USD budget (${formatCostUnits(account.spentUnits)} of ${formatCostUnits(account.budgetUnits ?? 0)} USD spent, ${formatCostUnits(account.reservedUnits)} reserved by calls in flight)`
    : `its token budget (${account.spentTokens} of ${account.budgetTokens ?? 0} tokens spent, ${account.reservedTokens} reserved by calls in flight)`;
}

/**
 * Step 6. Cap the call's output and reserve its bound (issue 9 §3), checked and reserved
 * in one synchronous step, so that parallel calls cannot all see the same remaining
 * budget: the cap is lowered to what the run's budget has left after every call in
 * flight, and the call reserves its input upper bound plus that cap. Returns the request
 * with the cap written in (`rewritten`) when it had to be added or lowered. (The request's
 * concurrency slot was taken in step 3a.)
 */
export function reserveBudget(
  ctx: ProxyContext,
  account: RunAccount,
  route: ProxyRoute,
  body: { bytes: number; text: string },
  request: ParsedRequest | undefined,
): StepResult<{ reservation: Reservation; request: ParsedRequest | undefined; rewritten: boolean }> {
  let estimate = { units: 0, tokens: 0 };
  let forwarded = request;
  let rewritten = false;
  if (route.billable && route.meter && request) {
    const plan = planOutputCap({
      kind: route.meter,
      body: request.json,
      raw: body.text,
      bodyBytes: body.bytes,
      price: findModelPrice(ctx.prices, request.model)?.price,
      left: readBudgetLeft(account),
      policy: ctx.budgetPolicy,
    });
    if (!plan.ok) {
      ctx.metrics.budgetRejections.inc({ limit: plan.limit });
      return refuse(
        429,
        "budget",
        `budget_${plan.limit}`,
        `run ${account.runId} ${isSpent(account, plan.limit) ? "has spent" : "cannot afford this call within"} ${describeBudget(account, plan.limit)}: ${plan.message}; ${budgetRaiseHint(account.runId)}`,
      );
    }
    estimate = plan.reservation;
    if (plan.changed) {
      forwarded = { ...request, json: plan.body };
      rewritten = true;
    }
  }
  const reserved = ctx.ledger.reserve(account, estimate, route.billable);
  if (reserved.ok) return { ok: true, reservation: reserved.reservation, request: forwarded, rewritten };
  ctx.metrics.budgetRejections.inc({ limit: reserved.limit });
  // planOutputCap fitted the reservation to what is left; the ledger refusing it anyway
  // means the budget is spent (a non-billable route never checks the budget).
  return refuse(
    429,
    "budget",
    `budget_${reserved.limit}`,
    `run ${account.runId} has spent ${describeBudget(account, reserved.limit)}; ${budgetRaiseHint(account.runId)}`,
  );
}
