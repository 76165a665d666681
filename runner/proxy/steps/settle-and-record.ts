import { performance } from "node:perf_hooks";
import { appendRunEvent } from "../../../core/db/runs.ts";
import type { NewLlmCall } from "../../../core/db/schema.ts";
import type { CallRecord } from "../call-record.ts";
import { decideBudgetCharge } from "../policy/decide-budget-charge.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { countTotalTokens, emptyUsage, formatCostUnits, priceUsage, type Usage } from "../usage.ts";

/** Release the reservation and book the spend; records the soft-threshold event the first time it is crossed. */
function settleBudget(ctx: ProxyContext, call: CallRecord, usage: Usage, costUnits: number): void {
  if (!call.reservation) return;
  const declared = { units: costUnits, tokens: countTotalTokens(usage) };
  const charge = call.route.billable
    ? decideBudgetCharge({
        reservation: call.reservation,
        declared,
        usageFinal: call.usageFinal,
        answered: call.ttfbMs !== undefined,
        status: call.status,
      })
    : declared;
  const crossed = ctx.ledger.settle(call.reservation, charge);
  if (!crossed) return;
  const account = call.account;
  ctx.recorder.track(
    appendRunEvent(ctx.deps.db, account.runId, "budget.soft_threshold", {
      threshold: ctx.budgetPolicy.softThreshold,
      spentUsd: formatCostUnits(account.spentUnits),
      budgetUsd: account.budgetUnits === undefined ? null : formatCostUnits(account.budgetUnits),
      spentTokens: account.spentTokens,
      budgetTokens: account.budgetTokens ?? null,
    }),
  );
  ctx.deps.logger.warn({ runId: account.runId }, "run passed its soft budget threshold");
}

function countCallMetrics(
  ctx: ProxyContext,
  call: CallRecord,
  usage: Usage,
  modelLabel: string,
  costUnits: number,
  latencyMs: number,
): void {
  const provider = call.provider;
  ctx.metrics.calls.inc({ provider, model: modelLabel, status: String(call.status) });
  if (countTotalTokens(usage) > 0) {
    ctx.metrics.tokens.inc({ provider, model: modelLabel, kind: "input" }, usage.inputTokens);
    ctx.metrics.tokens.inc({ provider, model: modelLabel, kind: "output" }, usage.outputTokens);
    if (usage.cacheCreationTokens > 0) {
      ctx.metrics.tokens.inc(
        { provider, model: modelLabel, kind: "cache_creation" },
        usage.cacheCreationTokens,
      );
    }
    if (usage.cacheReadTokens > 0) {
      ctx.metrics.tokens.inc({ provider, model: modelLabel, kind: "cache_read" }, usage.cacheReadTokens);
    }
    ctx.metrics.costUsd.inc({ provider, model: modelLabel }, costUnits / 1e10);
  }
  const streamLabel = String(call.stream);
  if (provider !== "none") {
    ctx.metrics.latency.observe({ provider, stream: streamLabel }, latencyMs / 1000);
    if (call.ttfbMs !== undefined)
      ctx.metrics.ttfb.observe({ provider, stream: streamLabel }, call.ttfbMs / 1000);
  }
}

/** Step 9. Free the run's slot, settle the budget, count metrics, queue the llm_calls row. Called exactly once per recorded call. */
export function settleAndRecord(ctx: ProxyContext, call: CallRecord): void {
  const latencyMs = Math.round(performance.now() - call.startedPerf);
  const billable = call.route.billable;
  const usage = billable ? call.usage : emptyUsage(call.usage.inputIncludesCache);
  const priced = priceUsage(ctx.prices, [call.model], usage);
  if (call.admission) ctx.admission.release(call.admission);
  settleBudget(ctx, call, usage, priced.costUnits);
  const modelLabel = priced.priceKey ?? "unpriced";
  const unpriced = billable && countTotalTokens(usage) > 0 && !priced.priced;
  if (unpriced) {
    ctx.deps.logger.warn(
      {
        runId: call.account.runId,
        model: call.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
      },
      "model has no price: tokens recorded, cost flagged unpriced (add it to AIRLOCK_PRICES_FILE)",
    );
  }
  countCallMetrics(ctx, call, usage, modelLabel, priced.costUnits, latencyMs);
  const row: NewLlmCall = {
    runId: call.account.runId,
    attempt: call.account.attempt,
    provider: call.provider,
    model: call.model ?? null,
    endpoint: call.path,
    stream: call.stream,
    status: call.status,
    error: call.error ?? null,
    refusal: call.refusal ?? null,
    startedAt: call.startedAt,
    latencyMs,
    ttfbMs: call.ttfbMs ?? null,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cacheCreationTokens: usage.cacheCreationTokens,
    cacheReadTokens: usage.cacheReadTokens,
    costUsd: formatCostUnits(priced.costUnits),
    priced: !unpriced,
    clientAborted: call.clientAborted,
    upstreamAttempts: call.attempts,
    requestBody: call.requestBody ?? null,
    responseBody: call.responseBody ?? null,
    callKey: call.callKey ?? null,
  };
  ctx.recorder.record(row, [call.token, ...ctx.realKeys]);
  ctx.deps.logger.debug(
    {
      runId: call.account.runId,
      provider: call.provider,
      status: call.status,
      latencyMs,
      aborted: call.clientAborted,
    },
    "llm call",
  );
}
