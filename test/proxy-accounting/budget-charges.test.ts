import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

/**
 * Issue 9 §3, each charge rule with a fault, through the official SDKs:
 * - a storm of parallel calls that name no cap, to a model that would bill 10,000 output
 *   tokens each, against a 20,000-token (or a USD) budget: what the upstream declared stays
 *   within the budget, because every call's cap is injected and lowered to what is left;
 * - a call whose real usage cannot be known is charged its whole reservation: a client
 *   abort before the final usage in each wire format (Anthropic after `message_start`
 *   included), and a success without usage. A completed call is charged what it declared.
 * The charge is read back from the next call's refusal, which names what is spent.
 */
type Sdks = { runId: string; openai: OpenAI; anthropic: Anthropic };

function declaredTokens(h: ProxyHarness): number {
  const { openai, anthropic } = h.upstream.totals;
  return (
    openai.inputTokens +
    openai.outputTokens +
    anthropic.inputTokens +
    anthropic.outputTokens +
    anthropic.cacheCreationTokens +
    anthropic.cacheReadTokens
  );
}

async function waitForRows(h: ProxyHarness, runId: string, count: number): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    const rows = await h.rows(runId);
    if (rows.length >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`run ${runId} never had ${count} recorded calls`);
}

for (const kind of testDatabaseKinds()) {
  describe(`budget storms on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    before(async () => {
      h = await startProxyHarness(kind);
      // Bills 10,000 output tokens unless the request caps it; answered after 100 ms, so
      // that every call of a storm is in flight together.
      h.upstream.define("bill10k", {
        chunks: 5,
        inputTokens: 20,
        outputTokens: 10_000,
        firstByteDelayMs: 100,
      });
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
      );
      await h.close();
    });

    for (const parallel of [8, 50]) {
      it(`${parallel} parallel calls with no cap, in each wire format: the upstream's declared totals stay within 20,000 tokens`, async () => {
        for (const format of ["chat", "responses", "messages"] as const) {
          const budget = 20_000;
          const { openai, anthropic } = await h.newRun({ budgetTokens: budget });
          const before = declaredTokens(h);
          const call = (i: number): Promise<unknown> => {
            const content = `Storm ${i}. [[script:bill10k]]`;
            if (format === "chat")
              return openai.chat.completions.create({
                model: "gpt-4o-mini",
                messages: [{ role: "user", content }],
              });
            if (format === "responses")
              return openai.responses.stream({ model: "gpt-4.1-mini", input: content }).finalResponse();
            // Anthropic requires a cap; this one is far above the budget.
            return anthropic.messages.create({
              model: "claude-haiku-4-5",
              max_tokens: 64_000,
              messages: [{ role: "user", content }],
            });
          };
          const results = await Promise.allSettled(Array.from({ length: parallel }, (_, i) => call(i)));
          const admitted = results.filter((r) => r.status === "fulfilled").length;
          assert.ok(admitted >= 1, `${format}: some calls were served`);
          for (const r of results) {
            if (r.status === "fulfilled") continue;
            assert.ok(
              r.reason instanceof OpenAI.RateLimitError || r.reason instanceof Anthropic.RateLimitError,
              `${format}: ${String(r.reason)}`,
            );
            assert.match((r.reason as Error).message, /token budget/);
          }
          const declared = declaredTokens(h) - before;
          assert.ok(
            declared <= budget,
            `${format}: the upstream declared ${declared} tokens against a ${budget} budget`,
          );
          assert.ok(declared > 0);
        }
      });
    }

    it("a USD storm: 20 parallel calls of a model that would bill 0.08 USD each stay within 0.05 USD", async () => {
      const budgetUsd = 0.05;
      const { openai } = await h.newRun({ budgetUsd: String(budgetUsd) });
      const before = { ...h.upstream.totals.openai };
      await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          openai.chat.completions.create({
            model: "gpt-4.1",
            messages: [{ role: "user", content: `Storm ${i}. [[script:bill10k]]` }],
          }),
        ),
      );
      const t = h.upstream.totals.openai;
      // gpt-4.1: 2 USD/M input, 8 USD/M output.
      const declaredUsd =
        ((t.inputTokens - before.inputTokens) * 2 + (t.outputTokens - before.outputTokens) * 8) / 1e6;
      assert.ok(t.calls > before.calls, "some calls were served");
      assert.ok(declaredUsd <= budgetUsd, `the upstream declared ${declaredUsd} USD against ${budgetUsd}`);
    });
  });

  describe(`charges when usage cannot be known, on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    before(async () => {
      h = await startProxyHarness(kind);
      // 20 input + 5 output tokens, slow enough that a client can hang up mid-stream.
      h.upstream.define("slow", { chunks: 5, inputTokens: 20, chunkDelayMs: 100 });
      h.upstream.define("quick", { chunks: 5, inputTokens: 20 });
      h.upstream.define("no-usage", { chunks: 5, inputTokens: 20, omitUsage: true });
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
      );
      await h.close();
    });

    const budget = 3_050;
    const cap = 3_000;

    /**
     * One call through `fault`, then a probe: with a 3,050-token budget and a 3,000-token
     * cap, a call charged its reservation leaves too little for the probe, which is refused
     * naming what was spent; a call charged what it declared (25 tokens) leaves room.
     */
    async function spentAfter(fault: (sdks: Sdks) => Promise<void>): Promise<number | "probe served"> {
      const sdks = await h.newRun({ budgetTokens: budget });
      await fault(sdks);
      await waitForRows(h, sdks.runId, 1);
      try {
        await sdks.openai.chat.completions.create({
          model: "gpt-4o-mini",
          max_tokens: 10,
          messages: [{ role: "user", content: "probe [[script:quick]]" }],
        });
        return "probe served";
      } catch (error) {
        assert.ok(error instanceof OpenAI.RateLimitError, String(error));
        const spent = /token budget \((\d+) of 3050 tokens spent/.exec(error.message);
        assert.ok(spent, error.message);
        return Number(spent[1]);
      }
    }

    /** Aborts `stream` once `when` has seen what it waits for. */
    async function abortWhen<T>(
      controller: AbortController,
      stream: AsyncIterable<T>,
      when: (event: T) => boolean,
    ) {
      try {
        for await (const event of stream) {
          if (when(event)) {
            controller.abort();
            break;
          }
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
    }

    it("a completed call is charged what it declared (the control)", async () => {
      const spent = await spentAfter(async ({ openai }) => {
        await openai.chat.completions.create({
          model: "gpt-4o-mini",
          max_tokens: cap,
          messages: [{ role: "user", content: "[[script:quick]]" }],
        });
      });
      assert.equal(spent, "probe served");
    });

    it("OpenAI chat: a client abort before the usage chunk is charged the whole reservation", async () => {
      const spent = await spentAfter(async ({ openai }) => {
        const controller = new AbortController();
        const stream = await openai.chat.completions.create(
          {
            model: "gpt-4o-mini",
            max_tokens: cap,
            stream: true,
            messages: [{ role: "user", content: "[[script:slow]]" }],
          },
          { signal: controller.signal },
        );
        await abortWhen(controller, stream, (c) => Boolean(c.choices[0]?.delta.content));
      });
      assert.ok(typeof spent === "number" && spent >= cap, `spent ${spent}`);
    });

    it("OpenAI responses: a client abort before response.completed is charged the whole reservation", async () => {
      const spent = await spentAfter(async ({ openai }) => {
        const controller = new AbortController();
        const stream = await openai.responses.create(
          { model: "gpt-4.1-mini", max_output_tokens: cap, stream: true, input: "[[script:slow]]" },
          { signal: controller.signal },
        );
        await abortWhen(controller, stream, (e) => e.type === "response.output_text.delta");
      });
      assert.ok(typeof spent === "number" && spent >= cap, `spent ${spent}`);
    });

    it("Anthropic: a stream aborted after message_start (input declared, output not) is charged the whole reservation", async () => {
      const spent = await spentAfter(async ({ anthropic, runId }) => {
        const controller = new AbortController();
        const stream = await anthropic.messages.create(
          {
            model: "claude-haiku-4-5",
            max_tokens: cap,
            stream: true,
            messages: [{ role: "user", content: "[[script:slow]]" }],
          },
          { signal: controller.signal },
        );
        await abortWhen(controller, stream, (e) => e.type === "message_start");
        await waitForRows(h, runId, 1);
        const [row] = await h.rows(runId);
        assert.equal(row?.clientAborted, true);
        assert.equal(row?.inputTokens, 20, "the row keeps what the provider declared");
      });
      assert.ok(typeof spent === "number" && spent >= cap, `spent ${spent}`);
    });

    it("a success without usage (chat and responses) is charged the whole reservation", async () => {
      const chat = await spentAfter(async ({ openai }) => {
        const answer = await openai.chat.completions.create({
          model: "gpt-4o-mini",
          max_tokens: cap,
          messages: [{ role: "user", content: "[[script:no-usage]]" }],
        });
        assert.equal(answer.usage, undefined);
      });
      assert.ok(typeof chat === "number" && chat >= cap, `spent ${chat}`);
      const responses = await spentAfter(async ({ openai }) => {
        const answer = await openai.responses.create({
          model: "gpt-4.1-mini",
          max_output_tokens: cap,
          input: "[[script:no-usage]]",
        });
        assert.equal(answer.usage, null);
      });
      assert.ok(typeof responses === "number" && responses >= cap, `spent ${responses}`);
    });
  });
}
