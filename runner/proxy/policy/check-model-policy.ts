import { findModelPrice, type PriceTable } from "../price-table.ts";
import { isModelAllowed, type ModelAllowList } from "./model-allow-list.ts";

export type ModelRefusal = { ok: true } | { ok: false; reason: "not_allowed" | "unpriced"; message: string };

/**
 * Model policy (issue 9 §2): a model outside the run's allow-list is refused; under a
 * USD budget, so is a model without a price, since a call with no cost never binds it.
 */
export function checkModelPolicy(
  model: string,
  allowed: ModelAllowList,
  prices: PriceTable,
  underUsdBudget: boolean,
): ModelRefusal {
  if (!isModelAllowed(allowed, model)) {
    const listed = allowed.kind === "listed" ? allowed.patterns.join(", ") : "";
    return {
      ok: false,
      reason: "not_allowed",
      message: `model: ${JSON.stringify(model.slice(0, 100))} is not allowed for this run (allowed: ${listed || "none"}). A run may call its agent's model, the model in .github/airlock.yml, and the operator's AIRLOCK_ALLOWED_MODELS; nothing was sent to the provider`,
    };
  }
  if (underUsdBudget && findModelPrice(prices, model) === undefined) {
    return {
      ok: false,
      reason: "unpriced",
      message: `model: ${JSON.stringify(model.slice(0, 100))} has no price, and this run has a USD budget that an unpriced call could not be counted against; the operator prices it in AIRLOCK_PRICES_FILE (USD per million tokens); nothing was sent to the provider`,
    };
  }
  return { ok: true };
}
