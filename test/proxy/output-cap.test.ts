import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideBudgetCharge } from "../../runner/proxy/policy/decide-budget-charge.ts";
import {
  defaultOutputCapPolicy,
  planOutputCap,
  type BudgetLeft,
} from "../../runner/proxy/policy/plan-output-cap.ts";
import type { MeterKind } from "../../runner/proxy/meter-usage.ts";
import { defaultPriceTable } from "../../runner/proxy/price-table.ts";
import { claudeCodeBody } from "../fixtures/agent-requests/claude-code-request.ts";
import { codexBody } from "../fixtures/agent-requests/codex-request.ts";

const policy = { ...defaultOutputCapPolicy, defaultMaxOutputTokens: 4096 };
const noBudget: BudgetLeft = { tokens: undefined, units: undefined };

function plan(kind: MeterKind, body: Record<string, unknown>, left = noBudget, model = "gpt-4.1-mini") {
  const raw = JSON.stringify(body);
  return planOutputCap({
    kind,
    body,
    raw,
    bodyBytes: Buffer.byteLength(raw),
    price: defaultPriceTable[model],
    left,
    policy,
  });
}

describe("output caps and reservations", () => {
  it("injects the cap each wire format knows when a call names none", () => {
    const chat = plan("openai-chat", { model: "m", messages: [] });
    assert.ok(chat.ok);
    assert.equal(chat.body.max_completion_tokens, 4096);
    assert.equal(chat.body.max_tokens, undefined);
    const responses = plan("openai-responses", codexBody("gpt-5"));
    assert.ok(responses.ok && responses.changed);
    assert.equal(responses.body.max_output_tokens, 4096);
    const anthropic = plan("anthropic-messages", { model: "m", messages: [] });
    assert.ok(anthropic.ok);
    assert.equal(anthropic.body.max_tokens, 4096);
  });

  it("never injects more than the model's own output limit", () => {
    const planned = plan("openai-chat", { model: "gpt-4o-mini", messages: [] }, noBudget, "gpt-4o-mini");
    assert.ok(planned.ok);
    assert.equal(planned.body.max_completion_tokens, 4096, "the policy default, below gpt-4o-mini's 16,384");
    const raw = JSON.stringify({ model: "gpt-4o-mini", messages: [] });
    const roomy = planOutputCap({
      kind: "openai-chat",
      body: { model: "gpt-4o-mini", messages: [] },
      raw,
      bodyBytes: raw.length,
      price: defaultPriceTable["gpt-4o-mini"],
      left: noBudget,
      policy: defaultOutputCapPolicy,
    });
    assert.ok(roomy.ok);
    assert.equal(
      roomy.body.max_completion_tokens,
      16_384,
      "32,768 by default, but gpt-4o-mini allows 16,384",
    );
  });

  it("leaves a call alone when its own cap fits: same object, nothing changed", () => {
    const body = claudeCodeBody("claude-sonnet-4-5");
    const planned = plan("anthropic-messages", body, noBudget, "claude-sonnet-4-5");
    assert.ok(planned.ok);
    assert.equal(planned.changed, false);
    assert.equal(planned.body, body);
    assert.equal(planned.cap, 32000);
  });

  it("reserves the input bound plus the cap, priced at the dearest input rate", () => {
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 100,
      messages: [{ role: "user", content: "x".repeat(300) }],
    };
    const raw = JSON.stringify(body);
    const planned = plan("anthropic-messages", body, noBudget, "claude-sonnet-4-5");
    assert.ok(planned.ok);
    const inputBound = Math.ceil(Buffer.byteLength(raw) / 3);
    assert.equal(planned.inputBound, inputBound);
    assert.equal(planned.reservation.tokens, inputBound + 100);
    // claude-sonnet-4-5: cache writes 3.75 USD/M (dearer than input), output 15 USD/M; units are 1e-10 USD.
    assert.equal(planned.reservation.units, inputBound * 37_500 + 100 * 150_000);
  });

  it("lowers every cap field to what the token budget left allows, n choices included", () => {
    const body = { model: "m", messages: [], max_tokens: 5000, max_completion_tokens: 9000, n: 2 };
    const planned = plan("openai-chat", body, { tokens: 1000, units: undefined });
    assert.ok(planned.ok);
    const perChoice = Math.floor((1000 - planned.inputBound) / 2);
    assert.equal(planned.cap, perChoice);
    assert.equal(planned.body.max_tokens, perChoice);
    assert.equal(planned.body.max_completion_tokens, perChoice);
    assert.ok(planned.reservation.tokens <= 1000);
  });

  it("lowers the cap to what the USD budget left allows", () => {
    // gpt-4.1-mini: input 0.4, output 1.6 USD/M → 4,000 and 16,000 units per token.
    const planned = plan("openai-responses", codexBody("gpt-4.1-mini"), {
      tokens: undefined,
      units: 50_000_000,
    });
    assert.ok(planned.ok);
    assert.equal(planned.cap, Math.floor((50_000_000 - planned.inputBound * 4_000) / 16_000));
    assert.ok(planned.reservation.units <= 50_000_000);
  });

  it("refuses, saying what is left, when not even one output token fits", () => {
    const planned = plan(
      "openai-chat",
      { model: "m", messages: [{ role: "user", content: "y".repeat(600) }] },
      { tokens: 150, units: undefined },
    );
    assert.equal(planned.ok, false);
    assert.ok(!planned.ok && planned.limit === "tokens");
    assert.match(
      !planned.ok ? planned.message : "",
      /needs up to \d+ input tokens.*150 tokens of the budget are neither spent nor reserved/,
    );
  });

  it("lowers Anthropic's thinking budget below a lowered cap, and refuses when thinking cannot fit", () => {
    const body = claudeCodeBody("claude-haiku-4-5");
    const planned = plan("anthropic-messages", body, { tokens: 5000, units: undefined }, "claude-haiku-4-5");
    assert.ok(planned.ok);
    assert.equal(planned.body.max_tokens, planned.cap);
    assert.deepEqual(planned.body.thinking, { type: "enabled", budget_tokens: planned.cap - 1 });
    assert.deepEqual(
      body.thinking,
      { type: "enabled", budget_tokens: 31999 },
      "the client's body is not mutated",
    );
    const tight = plan("anthropic-messages", body, { tokens: 1500, units: undefined }, "claude-haiku-4-5");
    assert.equal(tight.ok, false);
    assert.match(!tight.ok ? tight.message : "", /thinking/);
    // A client's own max_tokens at or below its thinking budget is left for the provider to refuse.
    const own = { ...body, max_tokens: 2000, thinking: { type: "enabled", budget_tokens: 3000 } };
    const untouched = plan("anthropic-messages", own, noBudget, "claude-haiku-4-5");
    assert.ok(untouched.ok && !untouched.changed);
  });

  it("counts an allowance for each image or document part", () => {
    const withImage = {
      model: "m",
      messages: [
        {
          role: "user",
          content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AA" } }],
        },
      ],
      max_tokens: 10,
    };
    const planned = plan("anthropic-messages", withImage);
    assert.ok(planned.ok);
    assert.equal(planned.inputBound, Math.ceil(Buffer.byteLength(JSON.stringify(withImage)) / 3) + 2_500);
  });
});

describe("budget charges", () => {
  const reservation = { units: 1000, tokens: 500 };
  const declared = { units: 30, tokens: 21 };
  const charge = (facts: { usageFinal: boolean; answered: boolean; status: number }) =>
    decideBudgetCharge({ reservation, declared, ...facts });

  it("charges what was declared when the usage is final, or the provider refused, or was never reached", () => {
    assert.deepEqual(charge({ usageFinal: true, answered: true, status: 200 }), declared);
    assert.deepEqual(charge({ usageFinal: false, answered: true, status: 429 }), declared);
    assert.deepEqual(charge({ usageFinal: false, answered: false, status: 502 }), declared);
  });

  it("charges the whole reservation when real usage cannot be known", () => {
    // Client abort mid-stream or after message_start, a success without usage, a broken stream.
    assert.deepEqual(charge({ usageFinal: false, answered: true, status: 200 }), reservation);
    // The client hung up before the upstream answered (499), or the upstream timed out (504): it may be generating.
    assert.deepEqual(charge({ usageFinal: false, answered: false, status: 499 }), reservation);
    assert.deepEqual(charge({ usageFinal: false, answered: false, status: 504 }), reservation);
    // A provider that declared more than the reservation before breaking off is charged that.
    assert.deepEqual(
      decideBudgetCharge({
        reservation,
        declared: { units: 5000, tokens: 9 },
        usageFinal: false,
        answered: true,
        status: 200,
      }),
      { units: 5000, tokens: 500 },
    );
  });
});
