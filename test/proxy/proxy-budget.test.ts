import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { listRunEvents } from "../../core/db/runs.ts";
import { updateRunBudget } from "../../runner/proxy/update-run-budget.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startProxyHarness, type ProxyHarness } from "./proxy-harness.ts";

function metricValue(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

for (const kind of testDatabaseKinds()) {
  describe(`proxy budgets on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    // The proxy's clock, which a test moves forward instead of sleeping.
    const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };
    before(async () => {
      h = await startProxyHarness(kind, { budget: { maxConcurrentPerRun: 2 }, runCacheTtlMs: 100, clock });
      // 40 input + 5 output tokens; gpt-4o-mini: 0.000009 USD.
      h.upstream.define("five", { chunks: 5, inputTokens: 40 });
      h.upstream.define("slow", { chunks: 4, firstByteDelayMs: 400, inputTokens: 5 });
      h.upstream.define("huge-input", { chunks: 20, chunkDelayMs: 10, inputTokens: 100 });
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
      );
      await h.close();
    });
    const ask = (openai: OpenAI) =>
      openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:five]]" }],
      });

    it("USD budget: admits while budget is unreserved, then 429 naming the budget and how to raise it", async () => {
      const { runId, token } = await h.newRun({ budgetUsd: "0.00001" });
      const openai = h.openai(token);
      await ask(openai); // 0.000009 spent
      await ask(openai); // admitted (0.000009 < 0.00001), 0.000018 spent: overshoot of one call
      const forwarded = h.upstream.requests.length;
      const refused = await ask(openai).then(
        () => assert.fail("a third call past the budget was served"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof OpenAI.RateLimitError);
      assert.equal(refused.status, 429);
      assert.equal(refused.code, "budget_exceeded");
      assert.equal(refused.type, "insufficient_quota");
      assert.match(refused.message, /USD budget \(0\.0000180000 of 0\.0000100000 USD\)/);
      assert.match(refused.message, new RegExp(`airlock token --run ${runId} --budget-usd`));
      assert.equal(h.upstream.requests.length, forwarded, "a refused call is never forwarded");

      // The operator raises it; the proxy sees the change within its run cache TTL (100 ms): move past it.
      await updateRunBudget(h.database.db, runId, { budgetUsd: "1" });
      clock.skewMs += 1000;
      await ask(openai);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => r.status),
        [200, 200, 429, 200],
      );
      assert.match(rows[2]!.error ?? "", /USD budget/);
      assert.deepEqual(
        rows.map((r) => r.refusal),
        [null, null, "budget", null],
        "the proxy's own refusal is marked as such; served calls are not",
      );
    });

    it("token budget in Anthropic's shape, and a soft-threshold event recorded once", async () => {
      const { runId, token } = await h.newRun({ budgetTokens: 100 });
      const anthropic = h.anthropic(token);
      const params = {
        model: "claude-haiku-4-5",
        max_tokens: 10,
        messages: [{ role: "user" as const, content: "[[script:five]]" }],
      };
      await anthropic.messages.create(params); // 45 tokens
      assert.equal((await listRunEvents(h.database.db, runId)).length, 0);
      await anthropic.messages.create(params); // 90 ≥ 80 % of 100
      await anthropic.messages.create(params); // 135, admitted at 90 < 100
      const refused = await anthropic.messages.create(params).then(
        () => assert.fail("served past the token budget"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof Anthropic.RateLimitError);
      const body = refused.error as { type: string; error: { type: string; message: string } };
      assert.equal(body.type, "error");
      assert.equal(body.error.type, "rate_limit_error");
      assert.match(body.error.message, /token budget \(135 of 100 tokens\)/);
      await h.proxy.flush();
      const events = (await listRunEvents(h.database.db, runId)).filter(
        (e) => e.type === "budget.soft_threshold",
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.data.spentTokens, 90);
      assert.equal(events[0]!.data.budgetTokens, 100);
      const metrics = await h.registry.metrics();
      assert.ok(metricValue(metrics, 'airlock_llm_budget_rejections_total{limit="tokens"}') >= 1);
      assert.ok(metricValue(metrics, 'airlock_llm_budget_rejections_total{limit="usd"}') >= 1);
    });

    it("per-run concurrency limit answers 429 while others of the same run are in flight", async () => {
      const { runId, token } = await h.newRun();
      const openai = h.openai(token);
      // The upstream holds its answers until released: the first two are certainly in flight.
      let release: () => void = () => undefined;
      h.upstream.define("held", {
        chunks: 4,
        inputTokens: 5,
        holdFirstByte: new Promise<void>((r) => (release = r)),
      });
      const held = () =>
        openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "[[script:held]]" }],
        });
      const slow = () =>
        openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "[[script:slow]]" }],
        });
      const first = held();
      const second = held();
      await waitUntil(
        "the upstream to hold two requests",
        () => h.upstream.requests.filter((r) => r.script === "held").length === 2,
      );
      const refused = await slow().then(
        () => assert.fail("a third concurrent call was served"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof OpenAI.RateLimitError);
      assert.equal(refused.code, "rate_limit_exceeded");
      assert.match(refused.message, /2 requests in flight, the per-run concurrency limit/);
      release();
      await Promise.all([first, second]);
      await slow(); // free again
      const rows = await h.rows(runId);
      assert.deepEqual(rows.map((r) => r.status).sort(), [200, 200, 200, 429]);
    });

    it("charges the reservation when a client hangs up before any usage was declared", async () => {
      const { runId, token } = await h.newRun({ budgetTokens: 1000 });
      const openai = h.openai(token);
      const controller = new AbortController();
      const stream = await openai.chat.completions.create(
        {
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "[[script:huge-input]]" }],
          stream: true,
        },
        { signal: controller.signal },
      );
      for await (const chunk of stream) {
        void chunk;
        controller.abort();
        break;
      }
      // Wait until the proxy has seen the hang-up and settled the call.
      await waitUntil("the aborted call's row", async () => (await h.rows(runId)).length > 0);
      // The reservation (body bytes / 4 + 4096 default output tokens) now counts as spent.
      const refused = await ask(openai).then(
        () => assert.fail("served after an unmetered abort used up the budget"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof OpenAI.RateLimitError);
      assert.match(refused.message, /token budget/);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.clientAborted, r.inputTokens, r.outputTokens, r.status]),
        [
          [true, 0, 0, 200],
          [false, 0, 0, 429],
        ],
      );
    });

    it("cuts a stream only when it passes the hard ceiling", async () => {
      const { runId, token } = await h.newRun({ budgetTokens: 20 });
      const anthropic = h.anthropic(token);
      // message_start declares 100 input tokens: past 1.5 × 20, so the stream is cut.
      await assert.rejects(async () => {
        const stream = await anthropic.messages.create({
          model: "claude-haiku-4-5",
          max_tokens: 10,
          messages: [{ role: "user", content: "[[script:huge-input]]" }],
          stream: true,
        });
        for await (const event of stream) void event;
      });
      const rows = await h.rows(runId);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.inputTokens, 100);
      assert.match(rows[0]!.error ?? "", /hard budget ceiling/);
    });
  });
}
