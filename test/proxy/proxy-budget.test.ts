import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { listRunEvents, updateRunBudget } from "../../core/db/runs.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

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
      // 20 input + 5 output tokens (within the proxy's input bound of these bodies);
      // gpt-4o-mini: 0.000006 USD.
      h.upstream.define("five", { chunks: 5, inputTokens: 20 });
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

    it("USD budget: a call is admitted only while its whole reservation fits, its cap lowered to what is left; then 429 naming the budget and how to raise it", async () => {
      // Issue 9 §3: the run can never be billed past its budget, so the last calls get a
      // lower output cap and the one whose input bound no longer fits is refused.
      const { runId, token } = await h.newRun({ budgetUsd: "0.00002" });
      const openai = h.openai(token);
      await ask(openai);
      await ask(openai);
      await ask(openai); // 3 × 0.000006 spent
      const forwarded = h.upstream.requests.length;
      const refused = await ask(openai).then(
        () => assert.fail("a call whose reservation does not fit was served"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof OpenAI.RateLimitError);
      assert.equal(refused.status, 429);
      assert.equal(refused.code, "budget_exceeded");
      assert.equal(refused.type, "insufficient_quota");
      assert.match(refused.message, /USD budget \(0\.0000180000 of 0\.0000200000 USD spent/);
      assert.match(refused.message, new RegExp(`airlock token --run ${runId} --budget-usd`));
      assert.equal(h.upstream.requests.length, forwarded, "a refused call is never forwarded");
      const caps = h.upstream.requests
        .slice(-3)
        .map((r) => (r.body as { max_completion_tokens?: number }).max_completion_tokens ?? 0);
      assert.ok(
        caps[0]! > caps[1]! && caps[1]! > caps[2]! && caps[2]! >= 5,
        `caps lowered with the budget: ${caps.join(", ")}`,
      );

      // The operator raises it; the proxy sees the change within its run cache TTL (100 ms): move past it.
      await updateRunBudget(h.database.db, runId, { budgetUsd: "1" });
      clock.skewMs += 1000;
      await ask(openai);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => r.status),
        [200, 200, 200, 429, 200],
      );
      assert.match(rows[3]!.error ?? "", /USD budget/);
      assert.deepEqual(
        rows.map((r) => r.refusal),
        [null, null, null, "budget", null],
        "the proxy's own refusal is marked as such; served calls are not",
      );
    });

    it("token budget in Anthropic's shape, and a soft-threshold event recorded once", async () => {
      const { runId, token } = await h.newRun({ budgetTokens: 90 });
      const anthropic = h.anthropic(token);
      const params = {
        model: "claude-haiku-4-5",
        max_tokens: 10,
        messages: [{ role: "user" as const, content: "[[script:five]]" }],
      };
      // Each call reserves its input bound (about 33 tokens for this body) plus max_tokens 10.
      await anthropic.messages.create(params); // 25 tokens
      assert.equal((await listRunEvents(h.database.db, runId)).length, 0);
      await anthropic.messages.create(params); // 50
      await anthropic.messages.create(params); // 75 ≥ 80 % of 90; admitted with its cap lowered to what was left
      const refused = await anthropic.messages.create(params).then(
        () => assert.fail("served past the token budget"),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof Anthropic.RateLimitError);
      const body = refused.error as { type: string; error: { type: string; message: string } };
      assert.equal(body.type, "error");
      assert.equal(body.error.type, "rate_limit_error");
      assert.match(body.error.message, /token budget \(75 of 90 tokens spent/);
      await h.proxy.flush();
      const events = (await listRunEvents(h.database.db, runId)).filter(
        (e) => e.type === "budget.soft_threshold",
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.data.spentTokens, 75);
      assert.equal(events[0]!.data.budgetTokens, 90);
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
      // The reservation (the input bound plus the injected cap, lowered to all the budget
      // left) now counts as spent.
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
      const { runId, token } = await h.newRun({ budgetTokens: 60 });
      const anthropic = h.anthropic(token);
      // The call fits (input bound ~34 + 10); then message_start declares 100 input tokens,
      // more than the body could hold and past 1.5 × 60, so the stream is cut.
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
