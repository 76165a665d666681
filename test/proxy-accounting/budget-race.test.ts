import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { listRunEvents } from "../../core/db/runs.ts";
import type { LlmCall } from "../../core/db/schema.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

/**
 * Issue 3, "Budgets", tightened by issue 9 §3: 200 parallel requests against one run's
 * budget never pass it. A proxy that checks "spent < budget" without reserving first
 * admits all 200 (each sees the same remaining budget), overshooting by ~9×; one that
 * admits while any budget is unreserved overshoots by one reservation. Here each call
 * reserves its input bound plus its output cap, lowered to what is left, and a call whose
 * bound no longer fits is refused: what the upstream declared stays within the budget.
 * Each script declares no more input than the proxy's bound for its body (bytes / 3).
 */
const parallel = 200;

function rowTokens(r: LlmCall): number {
  const cache = r.endpoint.startsWith("/v1/messages") ? r.cacheCreationTokens + r.cacheReadTokens : 0;
  return r.inputTokens + r.outputTokens + cache;
}

async function rowsOf(harness: ProxyHarness, runId: string, expected: number): Promise<LlmCall[]> {
  const rows = await harness.rows(runId);
  assert.equal(rows.length, expected, "one llm_calls row per request, refused ones included");
  return rows;
}

for (const kind of testDatabaseKinds()) {
  describe(`budget race on ${kind.name}`, { skip: kind.skip }, () => {
    let harness: ProxyHarness;
    before(async () => {
      harness = await startProxyHarness(kind);
      // 70 tokens per call, answered after 40 ms so that all 200 requests are in flight together.
      harness.upstream.define("race", {
        chunks: 10,
        inputTokens: 20,
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

    it("tokens: 200 parallel calls never pass the budget; then it is used until what is left cannot hold a call", async () => {
      const budget = 2000;
      // The request body is < 110 bytes: an input bound of at most 37 tokens.
      const largestBound = 37;
      const { runId, openai } = await harness.newRun({ budgetTokens: budget });
      const ask = (i: number) =>
        openai.chat.completions.create({
          model: "gpt-4o-mini",
          max_tokens: 80,
          messages: [{ role: "user", content: `Call ${i}. [[script:race]]` }],
        });
      const before = { ...harness.upstream.totals.openai };
      const declared = () => {
        const t = harness.upstream.totals.openai;
        return t.inputTokens + t.outputTokens - before.inputTokens - before.outputTokens;
      };
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
      assert.equal(spent, declared(), "the rows add up to what the upstream declared");
      assert.ok(
        spent <= budget,
        `the upstream declared ${spent} tokens against a ${budget} budget in the burst`,
      );
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
      assert.equal(spent, declared());
      assert.ok(spent <= budget, `spent ${spent} tokens of a ${budget} budget`);
      assert.ok(spent > budget - largestBound - 1, `only ${spent} of ${budget} tokens could be used`);

      const soft = (await listRunEvents(harness.database.db, runId)).filter(
        (e) => e.type === "budget.soft_threshold",
      );
      assert.equal(soft.length, 1, "the soft threshold is recorded once");
    });

    it("USD: 200 parallel Anthropic streams never pass the budget", async () => {
      const budgetUsd = 0.01;
      const { runId, anthropic } = await harness.newRun({ budgetUsd: String(budgetUsd) });
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
      // What the upstream declared, priced: claude-haiku-4-5 at 1 USD/M input, 5 USD/M output.
      const served = rows.filter((r) => r.status === 200);
      assert.equal(served.length, admitted);
      const declaredUsd = served.reduce((s, r) => s + (r.inputTokens * 1 + r.outputTokens * 5) / 1e6, 0);
      assert.ok(Math.abs(spentUsd - declaredUsd) < 1e-9, `spent ${spentUsd} for ${admitted} calls`);
      assert.ok(spentUsd <= budgetUsd, `spent ${spentUsd} USD of a ${budgetUsd} budget`);
    });
  });

  describe(`per-run concurrency limit on ${kind.name}`, { skip: kind.skip }, () => {
    let harness: ProxyHarness;
    before(async () => {
      harness = await startProxyHarness(kind, { budget: { maxConcurrentPerRun: 4 } });
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
