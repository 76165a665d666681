import type { ModelPrice, PriceTable } from "./price-table.ts";
import { findModelPrice } from "./price-table.ts";

/**
 * Token counts exactly as the provider declared them. OpenAI's input count includes its
 * cached tokens (`cacheReadTokens` is a part of `inputTokens`); Anthropic's three input
 * counts are disjoint. `inputIncludesCache` keeps that difference explicit.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  inputIncludesCache: boolean;
}

export function emptyUsage(inputIncludesCache: boolean): Usage {
  return { inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0, inputIncludesCache };
}

/** Every token the call consumed, counted once. */
export function countTotalTokens(u: Usage): number {
  const cache = u.inputIncludesCache ? 0 : u.cacheCreationTokens + u.cacheReadTokens;
  return u.inputTokens + u.outputTokens + cache;
}

/**
 * Cost in units of 1e-10 USD (the precision of llm_calls.cost_usd), as an integer so
 * that sums are exact: a price per million tokens p costs p·10^4 units per token.
 */
export const costUnitsPerUsd = 10_000_000_000;

export function unitsPerToken(pricePerMTok: number): number {
  return Math.round(pricePerMTok * 10_000);
}

export function computeCostUnits(u: Usage, price: ModelPrice): number {
  const uncachedInput = u.inputIncludesCache
    ? Math.max(0, u.inputTokens - u.cacheReadTokens - u.cacheCreationTokens)
    : u.inputTokens;
  return (
    uncachedInput * unitsPerToken(price.input) +
    u.outputTokens * unitsPerToken(price.output) +
    u.cacheReadTokens * unitsPerToken(price.cacheRead ?? price.input) +
    u.cacheCreationTokens * unitsPerToken(price.cacheWrite ?? price.input)
  );
}

export interface PricedUsage {
  costUnits: number;
  priced: boolean;
  /** The table key that priced it, for metric labels (untrusted model names never become labels). */
  priceKey: string | undefined;
}

export function priceUsage(
  table: PriceTable,
  models: readonly (string | undefined)[],
  u: Usage,
): PricedUsage {
  for (const model of models) {
    const found = findModelPrice(table, model);
    if (found) return { costUnits: computeCostUnits(u, found.price), priced: true, priceKey: found.key };
  }
  return { costUnits: 0, priced: false, priceKey: undefined };
}

/** `12345` units → `"0.0000012345"`, exact. */
export function formatCostUnits(units: number): string {
  const whole = Math.floor(units / costUnitsPerUsd);
  const frac = String(units % costUnitsPerUsd).padStart(10, "0");
  return `${whole}.${frac}`;
}

/** `"1.5"` (numeric column) → units, exact to 1e-10. */
export function parseUsdToUnits(value: string | number): number {
  const text = typeof value === "number" ? value.toFixed(10) : value.trim();
  const match = /^(\d+)(?:\.(\d{0,10})\d*)?$/.exec(text);
  if (!match) throw new Error(`not a non-negative USD amount: ${JSON.stringify(value)}`);
  return Number(match[1]) * costUnitsPerUsd + Number((match[2] ?? "").padEnd(10, "0"));
}
