import type { RefusalRule } from "./endpoint-policy.ts";
import { fieldWhere, valueOutside } from "./policy-matchers.ts";

/** Service tiers the price table prices at or above what they cost (flex is cheaper). */
const openAiPricedServiceTiers = ["auto", "default", "flex"] as const;

/** OpenAI's service_tier, the same on chat completions and responses. */
export const openAiServiceTierRule: RefusalRule = {
  field: "service_tier other than auto, default, flex",
  grant: "service_tier",
  why: "priority and scale tiers cost more than the price table knows: the budget would not bind",
  find: fieldWhere("service_tier", "service_tier", valueOutside(openAiPricedServiceTiers)),
};
