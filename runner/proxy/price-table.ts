import { z } from "zod";

/**
 * USD per million tokens. `cacheRead` and `cacheWrite` default to `input` when a
 * provider has no separate price. Operators extend or override the table with
 * AIRLOCK_PRICES_FILE (see parsePriceFile).
 */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  /**
   * The model's own output limit. The proxy's injected output cap (issue 9) is never above
   * it, so a call that named no cap is not refused by a model that allows fewer tokens.
   */
  maxOutputTokens?: number;
}
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * List prices as published by OpenAI and Anthropic (standard tier). A key also prices its
 * dated snapshots and `-latest` alias (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`),
 * but nothing else: `claude-opus-4-6` is not `claude-opus-4`, and a newer model than this
 * table knows is flagged unpriced rather than guessed.
 */
export const defaultPriceTable: PriceTable = {
  "gpt-5": { input: 1.25, cacheRead: 0.125, output: 10 },
  "gpt-5-mini": { input: 0.25, cacheRead: 0.025, output: 2 },
  "gpt-5-nano": { input: 0.05, cacheRead: 0.005, output: 0.4 },
  "gpt-4.1": { input: 2, cacheRead: 0.5, output: 8 },
  "gpt-4.1-mini": { input: 0.4, cacheRead: 0.1, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, cacheRead: 0.025, output: 0.4 },
  "gpt-4o": { input: 2.5, cacheRead: 1.25, output: 10, maxOutputTokens: 16_384 },
  "gpt-4o-mini": { input: 0.15, cacheRead: 0.075, output: 0.6, maxOutputTokens: 16_384 },
  o1: { input: 15, cacheRead: 7.5, output: 60 },
  "o1-mini": { input: 1.1, cacheRead: 0.55, output: 4.4 },
  o3: { input: 2, cacheRead: 0.5, output: 8 },
  "o3-mini": { input: 1.1, cacheRead: 0.55, output: 4.4 },
  "o4-mini": { input: 1.1, cacheRead: 0.275, output: 4.4 },
  "claude-opus-4": { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 },
  "claude-opus-4-1": { input: 15, output: 75, cacheWrite: 18.75, cacheRead: 1.5 },
  "claude-opus-4-5": { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  "claude-sonnet-4": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  "claude-sonnet-4-5": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  "claude-3-7-sonnet": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  "claude-3-5-sonnet": { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3, maxOutputTokens: 8_192 },
  "claude-haiku-4-5": { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cacheWrite: 1, cacheRead: 0.08, maxOutputTokens: 8_192 },
  "claude-3-haiku": { input: 0.25, output: 1.25, cacheWrite: 0.3, cacheRead: 0.03, maxOutputTokens: 4_096 },
};

const snapshotSuffix = /^-([0-9]{4}-?[0-9]{2}-?[0-9]{2}|latest)$/;

/** Find a model's price: the exact id, or a key followed by a snapshot date or `-latest`. */
export function findModelPrice(
  table: PriceTable,
  model: string | undefined,
): { key: string; price: ModelPrice } | undefined {
  if (!model) return undefined;
  const exact = table[model];
  if (exact) return { key: model, price: exact };
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (
      model.startsWith(key) &&
      snapshotSuffix.test(model.slice(key.length)) &&
      (best === undefined || key.length > best.length)
    ) {
      best = key;
    }
  }
  return best === undefined ? undefined : { key: best, price: table[best]! };
}

const priceNumber = z.number().finite().nonnegative();
const priceFileSchema = z.record(
  z.string().min(1),
  z.strictObject({
    input: priceNumber,
    output: priceNumber,
    cacheRead: priceNumber.optional(),
    cacheWrite: priceNumber.optional(),
    maxOutputTokens: z.number().int().positive().optional(),
  }),
);

/**
 * Validate an operator's price file (already parsed from JSON or YAML): a map of model
 * id → { input, output, cacheRead?, cacheWrite? } in USD per million tokens, and
 * optionally the model's maxOutputTokens (a vLLM model with a small context, say).
 */
export function parsePriceFile(data: unknown, source: string): PriceTable {
  const parsed = priceFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new Error(
      `${source}: expected a map of model id to { input, output, cacheRead?, cacheWrite? } in USD per million tokens, and maxOutputTokens? (the model's output limit):\n${problems.join("\n")}`,
    );
  }
  return parsed.data;
}
