import type { MeterKind } from "../meter-usage.ts";
import type { ModelPrice } from "../price-table.ts";
import { formatCostUnits, unitsPerToken } from "../usage.ts";
import { isRecord } from "./policy-matchers.ts";

/**
 * Budgets that hold under concurrency (issue 9 §3). Every call's output is capped, and
 * the call reserves an upper bound of its input plus that cap, so that the sum of what
 * the admitted calls can be billed — when the provider honours the cap — never passes the
 * budget, however many run at once:
 *
 *   input bound = ⌈body bytes / inputBytesPerToken⌉ + tokensPerMediaPart × image/document parts
 *   cap         = min(the call's own cap, or defaultMaxOutputTokens within the model's maxOutputTokens,
 *                     what the budget left allows after the input bound)
 *   reservation = input bound + cap × choices, priced at the dearest input rate (cache writes included)
 *
 * Text and code take well over 3 bytes of JSON per token, and every token is at least one
 * byte, so the bound holds for text unless it is built of single-byte tokens on purpose;
 * an image or a PDF page costs what its pixels cost, hence the allowance per part (a many-
 * page PDF can still pass it: README, "What the proxy refuses").
 */
export interface OutputCapPolicy {
  /** Cap injected when a call names none. */
  defaultMaxOutputTokens: number;
  inputBytesPerToken: number;
  tokensPerMediaPart: number;
}

export const defaultOutputCapPolicy: OutputCapPolicy = {
  defaultMaxOutputTokens: 32_768,
  inputBytesPerToken: 3,
  tokensPerMediaPart: 2_500,
};

/** Budget not yet spent nor reserved by calls in flight; undefined = no budget of that kind. */
export interface BudgetLeft {
  tokens: number | undefined;
  units: number | undefined;
}

export type OutputCapPlan =
  | {
      ok: true;
      cap: number;
      inputBound: number;
      reservation: { tokens: number; units: number };
      /** The body to forward: the same object when nothing changed, else a shallow copy. */
      body: Record<string, unknown>;
      changed: boolean;
    }
  | { ok: false; limit: "tokens" | "usd"; message: string };

/** The cap fields each wire format knows; the first is the one injected when none is given. */
const capFields: Record<MeterKind, readonly string[]> = {
  "openai-chat": ["max_completion_tokens", "max_tokens"],
  "openai-responses": ["max_output_tokens"],
  "anthropic-messages": ["max_tokens"],
};

/** Anthropic's smallest thinking budget; a cap at or below it leaves no room for thinking. */
const minThinkingBudget = 1024;

const mediaPart = /"type"\s*:\s*"(?:image|image_url|input_image|document|input_file|file)"/g;

export function countMediaParts(raw: string): number {
  return raw.match(mediaPart)?.length ?? 0;
}

export function planOutputCap(input: {
  kind: MeterKind;
  body: Readonly<Record<string, unknown>>;
  raw: string;
  bodyBytes: number;
  price: ModelPrice | undefined;
  left: BudgetLeft;
  policy: OutputCapPolicy;
}): OutputCapPlan {
  const { kind, body, price, left, policy } = input;
  const inputBound =
    Math.ceil(input.bodyBytes / policy.inputBytesPerToken) +
    countMediaParts(input.raw) * policy.tokensPerMediaPart;
  const n = body.n;
  // Chat's `n` asks for several choices, each up to the cap.
  const choices = kind === "openai-chat" && typeof n === "number" && Number.isSafeInteger(n) && n > 1 ? n : 1;
  const inputRate = price
    ? unitsPerToken(Math.max(price.input, price.cacheWrite ?? price.input, price.cacheRead ?? price.input))
    : 0;
  const outputRate = price ? unitsPerToken(price.output) : 0;
  const inputUnits = inputBound * inputRate;

  const fields = capFields[kind];
  const given = fields
    .map((f) => body[f])
    .filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const requested =
    given.length > 0
      ? Math.max(0, Math.floor(Math.min(...given)))
      : Math.min(policy.defaultMaxOutputTokens, price?.maxOutputTokens ?? Infinity);

  const byTokens = left.tokens === undefined ? Infinity : Math.floor((left.tokens - inputBound) / choices);
  const byUsd =
    left.units === undefined
      ? Infinity
      : left.units < inputUnits
        ? -1
        : outputRate === 0
          ? Infinity
          : Math.floor((left.units - inputUnits) / outputRate / choices);
  const cap = Math.min(requested, byTokens, byUsd);
  const limit: "tokens" | "usd" = byTokens <= byUsd ? "tokens" : "usd";
  const refuse = (why: string): OutputCapPlan => ({
    ok: false,
    limit,
    message:
      limit === "tokens"
        ? `this call needs up to ${inputBound} input tokens plus at least one output token, and ${Math.max(0, left.tokens ?? 0)} tokens of the budget are neither spent nor reserved by calls in flight${why}`
        : `this call needs up to ${formatCostUnits(inputUnits)} USD of input plus at least one output token, and ${formatCostUnits(Math.max(0, left.units ?? 0))} USD of the budget is neither spent nor reserved by calls in flight${why}`,
  });
  if (requested < 1 && byTokens >= 0 && byUsd >= 0) {
    // A zero cap is the client's own mistake: the provider answers it with a 400.
    return {
      ok: true,
      cap: 0,
      inputBound,
      reservation: { tokens: inputBound, units: inputUnits },
      body: body as Record<string, unknown>,
      changed: false,
    };
  }
  if (cap < 1) return refuse("");

  let changed = false;
  const out: Record<string, unknown> = { ...body };
  const thinking = kind === "anthropic-messages" ? body.thinking : undefined;
  if (
    cap < requested &&
    isRecord(thinking) &&
    thinking.type === "enabled" &&
    typeof thinking.budget_tokens === "number" &&
    thinking.budget_tokens >= cap
  ) {
    // Anthropic requires max_tokens > thinking.budget_tokens: when the budget lowers the
    // cap, the thinking budget is lowered with it (a client's own bad pair is its own 400).
    if (cap - 1 < minThinkingBudget)
      return refuse(
        `; with thinking on, the call needs more than ${minThinkingBudget} output tokens and the budget allows ${cap}`,
      );
    out.thinking = { ...thinking, budget_tokens: cap - 1 };
    changed = true;
  }
  let present = false;
  for (const field of fields) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    present = true;
    if (typeof value !== "number" || !Number.isFinite(value) || value > cap) {
      out[field] = cap;
      changed = true;
    }
  }
  if (!present) {
    out[fields[0] ?? "max_tokens"] = cap;
    changed = true;
  }
  return {
    ok: true,
    cap,
    inputBound,
    reservation: { tokens: inputBound + cap * choices, units: inputUnits + cap * choices * outputRate },
    body: changed ? out : (body as Record<string, unknown>),
    changed,
  };
}
