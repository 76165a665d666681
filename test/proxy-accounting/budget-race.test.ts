import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { listRunEvents } from "../../core/db/runs.ts";
import { llmCalls, type LlmCall } from "../../core/db/schema.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness, type ProxyHarness } from "./start-proxy-harness.ts";

/**
 * Issue 3, "Budgets": 200 parallel requests against one run's budget overshoot it by at
 * most one reservation. A proxy that checks "spent < budget" without reserving first
 * admits all 200 (each sees the same remaining budget), overshooting by ~9×: that is the
 * bug these tests exist to catch. Each request's actual usage is below what the proxy can
 * reserve for it (input ≤ body/4, output ≤ max_tokens), so one reservation bounds a call.
 */
const parallel = 200;

function rowTokens(r: LlmCall): number {
  const cache = r.endpoint.startsWith("/v1/messages") ? r.cacheCreationTokens + r.cacheReadTokens : 0;
  return r.inputTokens + r.outputTokens + cache;
}

async function rowsOf(harness: ProxyHarness, runId: string, expected: number): Promise<LlmCall[]> {
  await harness.served.flush(10_000);
  const rows = await harness.database.db.select().from(llmCalls).where(eq(llmCalls.runId, runId));
  assert.equal(rows.length, expected, "one llm_calls row per request, refused ones included");
  return rows;
}

for (const kind of testDatabaseKinds()) {
  describe(`budget race on ${kind.name}`, { skip: kind.skip }, () => {
    let harness: ProxyHarness;
    before(async () => {
      harness = await startProxyHarness(kind);
      // 90 tokens per call, answered after 40 ms so that all 200 requests are in flight together.
      harness.upstream.define("race", {
        chunks: 10,
        inputTokens: 40,
        outputTokens: 50,
        firstByteDelayMs: 40,
      });
      // 30 input + 200 output tokens of claude-haiku-4-5: 0.00103 USD per call.
      harness.upstream.define("race-usd", {
        chunks: 10,
        inputTokens: 30,
        outputTokens: 200,
        firstByteDelayMs: 20,
        chunkDelayMs: 2,
      });
    });
    after(async () => {
      await harness.close();
    });

    it("tokens: 200 parallel calls overshoot by at most one reservation; then the budget is used up and refused", async () => {
      const budget = 2000;
      // The request body is < 280 bytes (≤ 70 estimated input tokens) and max_tokens is 80.
      const oneReservation = 150;
      const { runId, openai } = await harness.newRun({ tokens: budget });
      const ask = (i: number) =>
        openai.chat.completions.create({
          model: "gpt-4o-mini",
          max_tokens: 80,
          messages: [{ role: "user", content: `Call ${i}. [[script:race]]` }],
        });
      const results = await Promise.allSettled(Array.from({ length: parallel }, (_, i) => ask(i)));
      const admitted = results.filter((r) => r.status === "fulfilled").length;
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      assert.ok(admitted > 0, "some calls were admitted");
      assert.ok(refused.length > 0, "some calls were refused");
      for (const error of refused) {
        assert.ok(error instanceof OpenAI.RateLimitError, `refused with ${String(error)}`);
        assert.match(error.message, /token budget/);
        assert.match(error.message, /airlock token --run/, "the message says how an operator raises it");
      }

      let rows = await rowsOf(harness, runId, parallel);
      let spent = rows.reduce((s, r) => s + rowTokens(r), 0);
      assert.equal(spent, admitted * 90);
      assert.ok(spent <= budget + oneReservation, `spent ${spent} tokens of a ${budget} budget in the burst`);
      assert.ok(rows.filter((r) => r.status === 429).every((r) => rowTokens(r) === 0));

      // One at a time, the rest of the budget is usable, and then the run is refused.
      let sequential = 0;
      for (; sequential < 100; sequential += 1) {
        try {
          await ask(parallel + sequential);
        } catch (error) {
          assert.ok(error instanceof OpenAI.RateLimitError);
          break;
        }
      }
      assert.ok(sequential < 100, "the budget ran out");
      rows = await rowsOf(harness, runId, parallel + sequential + 1);
      spent = rows.reduce((s, r) => s + rowTokens(r), 0);
      assert.ok(spent >= budget, `only ${spent} of ${budget} tokens could be used`);
      assert.ok(spent <= budget + oneReservation, `spent ${spent} tokens of a ${budget} budget`);

      const soft = (await listRunEvents(harness.database.db, runId)).filter(
        (e) => e.type === "budget.soft_threshold",
      );
      assert.equal(soft.length, 1, "the soft threshold is recorded once");
    });

    it("USD: 200 parallel Anthropic streams overshoot by at most one reservation", async () => {
      const budgetUsd = 0.01;
      // ≤ 80 estimated input tokens at 1 USD/M + 250 max_tokens at 5 USD/M.
      const oneReservationUsd = 0.00133;
      const { runId, anthropic } = await harness.newRun({ usd: String(budgetUsd) });
      const results = await Promise.allSettled(
        Array.from({ length: parallel }, (_, i) =>
          anthropic.messages
            .stream({
              model: "claude-haiku-4-5",
              max_tokens: 250,
              messages: [{ role: "user", content: `Call ${i}. [[script:race-usd]]` }],
            })
            .finalMessage(),
        ),
      );
      const admitted = results.filter((r) => r.status === "fulfilled").length;
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      assert.ok(admitted > 0 && refused.length > 0, `admitted ${admitted}, refused ${refused.length}`);
      for (const error of refused) {
        assert.ok(error instanceof Anthropic.RateLimitError, `refused with ${String(error)}`);
        assert.match(error.message, /USD budget/);
      }
      const rows = await rowsOf(harness, runId, parallel);
      const spentUsd = rows.reduce((s, r) => s + Number(r.costUsd), 0);
      assert.ok(Math.abs(spentUsd - admitted * 0.00103) < 1e-9, `spent ${spentUsd} for ${admitted} calls`);
      assert.ok(spentUsd <= budgetUsd + oneReservationUsd, `spent ${spentUsd} USD of a ${budgetUsd} budget`);
    });
  });

  describe(`per-run concurrency limit on ${kind.name}`, { skip: kind.skip }, () => {
    let harness: ProxyHarness;
    before(async () => {
      harness = await startProxyHarness(kind, { proxy: { budget: { maxConcurrentPerRun: 4 } } });
      // Held long enough that all 10 requests are in flight together even on a loaded machine.
      harness.upstream.define("hold", { chunks: 2, inputTokens: 5, firstByteDelayMs: 1500 });
    });
    after(async () => {
      await harness.close();
    });

    it("answers 429 in the provider's shape past the limit", async () => {
      const { runId, openai } = await harness.newRun();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          openai.chat.completions.create({
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: "[[script:hold]]" }],
          }),
        ),
      );
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      assert.equal(results.length - refused.length, 4);
      for (const error of refused) {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.match(error.message, /concurrency/);
      }
      await rowsOf(harness, runId, 10);
    });
  });
}
