import type { LlmCall } from "../db/schema.ts";

export interface ModelFigures {
  model: string;
  calls: number;
  priced: boolean;
}

export interface RunFigures {
  calls: number;
  failedCalls: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  /** Exact decimal string (llm_calls.cost_usd has 10 decimals; summed in integer units). */
  costUsd: string;
  /** Models with at least one call the price table did not know. */
  unpricedModels: string[];
  models: ModelFigures[];
}

const scale = 10;

/** Totals over a run's llm_calls rows. Cost is summed as integers of 1e-10 USD, so it is exact. */
export function sumRunFigures(calls: readonly LlmCall[]): RunFigures {
  let units = 0n;
  const models = new Map<string, ModelFigures>();
  const figures: RunFigures = {
    calls: calls.length,
    failedCalls: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    costUsd: "0",
    unpricedModels: [],
    models: [],
  };
  for (const call of calls) {
    if (call.status < 200 || call.status >= 300) figures.failedCalls += 1;
    figures.inputTokens += call.inputTokens;
    figures.outputTokens += call.outputTokens;
    figures.cacheReadTokens += call.cacheReadTokens;
    figures.cacheCreationTokens += call.cacheCreationTokens;
    units += parseUnits(call.costUsd);
    const name = call.model ?? "(none)";
    const entry = models.get(name) ?? { model: name, calls: 0, priced: true };
    entry.calls += 1;
    // Only a call that used tokens can be unpriced in a way that matters.
    if (!call.priced && call.inputTokens + call.outputTokens > 0) entry.priced = false;
    models.set(name, entry);
  }
  figures.costUsd = formatUnits(units);
  figures.models = [...models.values()];
  figures.unpricedModels = figures.models.filter((m) => !m.priced).map((m) => m.model);
  return figures;
}

export function parseUnits(decimal: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(decimal.trim());
  if (!match) throw new Error(`not a decimal amount: ${decimal}`);
  const fraction = (match[3] ?? "").padEnd(scale, "0").slice(0, scale);
  const value = BigInt(match[2]!) * 10n ** BigInt(scale) + BigInt(fraction === "" ? "0" : fraction);
  return match[1] === "-" ? -value : value;
}

/** USD with trailing zeros dropped, at least 2 decimals: "0.00", "0.0123", "1.50". */
export function formatUnits(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = abs / 10n ** BigInt(scale);
  let fraction = (abs % 10n ** BigInt(scale)).toString().padStart(scale, "0").replace(/0+$/, "");
  if (fraction.length < 2) fraction = fraction.padEnd(2, "0");
  return `${negative ? "-" : ""}${whole.toString()}.${fraction}`;
}
