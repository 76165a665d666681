import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import type OpenAI from "openai";
import type { LlmCall } from "../../core/db/schema.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import type { Script, UsageTotals } from "../stand-ins/scripted-llm-upstream.ts";
import { runBounded } from "../helpers/run-bounded.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

/**
 * Issue 3, "Metering, exact": ≥ 1,000 mixed calls through the proxy, driven by the
 * official SDKs — OpenAI chat (stream with and without include_usage, usage on the last
 * content chunk, tool calls), Responses (stream and not), Anthropic messages (stream and
 * not, cache tokens, several cumulative message_delta events, tool_use, an error event
 * mid-stream), upstream faults the proxy retries, streams that end early, and client
 * aborts mid-stream. Then the llm_calls rows must add up EXACTLY to the usage the
 * upstream declared.
 *
 * Aborts are placed so the answer is well defined: the client aborts after the third
 * content chunk of a slow stream (50 chunks, 20 ms apart), a second before the final usage
 * event. What the upstream declared by then — for Anthropic, message_start's input, cache
 * and output_tokens: 1; for OpenAI, nothing — is exactly what the row must hold.
 */
const calls = 1000;
const concurrency = 16;
const openaiModel = "gpt-4o-mini";
const anthropicModel = "claude-haiku-4-5";

const scripts: Record<string, Script> = {
  "oa-plain": { chunks: 5, inputTokens: 101 },
  "oa-cached": { chunks: 7, inputTokens: 300, cacheReadTokens: 128 },
  "oa-last": { chunks: 4, inputTokens: 55, usagePlacement: "last-content-chunk" },
  "oa-tool": {
    chunks: 6,
    inputTokens: 80,
    outputTokens: 17,
    toolCall: { name: "run_tests", arguments: '{"paths":["test/a.test.ts"],"watch":false}' },
  },
  "oa-flaky": { chunks: 3, inputTokens: 42, faults: [{ kind: "status", status: 503 }, { kind: "reset" }] },
  "oa-early": { chunks: 9, inputTokens: 61, alwaysFault: { kind: "end-early", afterChunks: 4 } },
  "oa-slow": { chunks: 50, chunkDelayMs: 20, inputTokens: 77 },
  resp: { chunks: 6, inputTokens: 140, cacheReadTokens: 64 },
  "an-plain": { chunks: 5, inputTokens: 120, cacheCreationTokens: 30, cacheReadTokens: 200 },
  "an-deltas": { chunks: 8, inputTokens: 64, outputTokens: 21, messageDeltas: 3 },
  "an-repeat": {
    chunks: 4,
    inputTokens: 33,
    cacheReadTokens: 9,
    deltaUsageRepeatsInput: true,
    messageDeltas: 2,
  },
  "an-tool": {
    chunks: 5,
    inputTokens: 90,
    outputTokens: 13,
    toolCall: { name: "read_file", arguments: '{"path":"README.md"}' },
  },
  "an-error": {
    chunks: 6,
    inputTokens: 44,
    cacheReadTokens: 3,
    alwaysFault: { kind: "stream-error", afterChunks: 2 },
  },
  "an-slow": { chunks: 50, chunkDelayMs: 20, inputTokens: 66, cacheCreationTokens: 5 },
};

type Kind =
  | "oa-json"
  | "oa-stream-asked"
  | "oa-stream-unasked"
  | "oa-cached-stream"
  | "oa-last"
  | "oa-tool-stream"
  | "oa-tool-json"
  | "oa-flaky"
  | "oa-early"
  | "oa-abort"
  | "resp-json"
  | "resp-stream"
  | "an-json"
  | "an-stream"
  | "an-deltas"
  | "an-repeat"
  | "an-tool"
  | "an-error"
  | "an-abort"
  | "an-count";

// A fixed, shuffled-by-stride mix: every kind appears 50 times in 1,000 calls.
const kinds: Kind[] = [
  "oa-json",
  "oa-stream-asked",
  "oa-stream-unasked",
  "oa-cached-stream",
  "oa-last",
  "oa-tool-stream",
  "oa-tool-json",
  "oa-flaky",
  "oa-early",
  "oa-abort",
  "resp-json",
  "resp-stream",
  "an-json",
  "an-stream",
  "an-deltas",
  "an-repeat",
  "an-tool",
  "an-error",
  "an-abort",
  "an-count",
];

function user(script: string, i: number) {
  return `Call ${i}: please help. [[script:${script}]]`;
}

async function runCall(kind: Kind, i: number, openai: OpenAI, anthropic: Anthropic): Promise<void> {
  const oaMessages = (script: string) => [{ role: "user" as const, content: user(script, i) }];
  const anMessages = (script: string) => [{ role: "user" as const, content: user(script, i) }];
  switch (kind) {
    case "oa-json": {
      const r = await openai.chat.completions.create({
        model: openaiModel,
        messages: oaMessages("oa-plain"),
      });
      assert.equal(r.usage?.completion_tokens, 5);
      return;
    }
    case "oa-stream-asked": {
      const s = await openai.chat.completions.create({
        model: openaiModel,
        messages: oaMessages("oa-plain"),
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const c of s) if (c.usage) usage = c.usage;
      assert.equal(usage?.prompt_tokens, 101);
      return;
    }
    case "oa-stream-unasked":
    case "oa-cached-stream": {
      const s = await openai.chat.completions.create({
        model: openaiModel,
        messages: oaMessages(kind === "oa-stream-unasked" ? "oa-plain" : "oa-cached"),
        stream: true,
      });
      let text = "";
      for await (const c of s) {
        // The proxy asked for usage on the client's behalf: the client must not see it.
        assert.ok(!c.usage, "usage chunk leaked to a client that did not ask for it");
        assert.ok(c.choices.length > 0, "the usage-only chunk leaked to a client that did not ask for it");
        text += c.choices[0]?.delta.content ?? "";
      }
      assert.equal(text.split(" ").length, kind === "oa-stream-unasked" ? 5 : 7);
      return;
    }
    case "oa-last": {
      const s = await openai.chat.completions.create({
        model: openaiModel,
        messages: oaMessages("oa-last"),
        stream: true,
      });
      let finish: string | null | undefined;
      for await (const c of s) finish = c.choices[0]?.finish_reason ?? finish;
      assert.equal(finish, "stop");
      return;
    }
    case "oa-tool-stream": {
      const final = await openai.chat.completions
        .stream({
          model: openaiModel,
          messages: oaMessages("oa-tool"),
          stream_options: { include_usage: true },
        })
        .finalChatCompletion();
      const call = final.choices[0]?.message.tool_calls?.[0];
      assert.equal(
        call?.type === "function" ? call.function.arguments : "",
        '{"paths":["test/a.test.ts"],"watch":false}',
      );
      assert.equal(final.usage?.completion_tokens, 17);
      return;
    }
    case "oa-tool-json": {
      const r = await openai.chat.completions.create({ model: openaiModel, messages: oaMessages("oa-tool") });
      assert.equal(r.choices[0]?.finish_reason, "tool_calls");
      return;
    }
    case "oa-flaky": {
      const r = await openai.chat.completions.create({
        model: openaiModel,
        messages: oaMessages("oa-flaky"),
      });
      assert.equal(r.usage?.prompt_tokens, 42);
      return;
    }
    case "oa-early": {
      // The upstream ends the stream after 4 chunks without usage or [DONE]: nothing was declared.
      const s = await openai.chat.completions.create({
        model: openaiModel,
        messages: oaMessages("oa-early"),
        stream: true,
      });
      try {
        for await (const _ of s) void _;
      } catch {
        // A proxy may surface the broken stream as an error; either way nothing is billed.
      }
      return;
    }
    case "oa-abort": {
      const controller = new AbortController();
      const s = await openai.chat.completions.create(
        { model: openaiModel, messages: oaMessages("oa-slow"), stream: true },
        { signal: controller.signal },
      );
      let seen = 0;
      try {
        for await (const c of s) {
          if (c.choices[0]?.delta.content && ++seen === 3) controller.abort();
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
      // The SDK may still hand out an event it had already buffered when abort() was called.
      assert.ok(seen >= 3 && seen < 10, `saw ${seen} chunks`);
      return;
    }
    case "resp-json": {
      const r = await openai.responses.create({ model: openaiModel, input: user("resp", i) });
      assert.equal(r.usage?.input_tokens, 140);
      return;
    }
    case "resp-stream": {
      const s = await openai.responses.create({ model: openaiModel, input: user("resp", i), stream: true });
      let completed = false;
      for await (const e of s)
        if (e.type === "response.completed") completed = e.response.usage?.output_tokens === 6;
      assert.ok(completed);
      return;
    }
    case "an-json": {
      const r = await anthropic.messages.create({
        model: anthropicModel,
        max_tokens: 256,
        messages: anMessages("an-plain"),
      });
      assert.equal(r.usage.cache_read_input_tokens, 200);
      return;
    }
    case "an-stream":
    case "an-deltas":
    case "an-repeat":
    case "an-tool": {
      const script = kind === "an-stream" ? "an-plain" : kind;
      const m = await anthropic.messages
        .stream({ model: anthropicModel, max_tokens: 256, messages: anMessages(script) })
        .finalMessage();
      const expected = { "an-stream": 5, "an-deltas": 21, "an-repeat": 4, "an-tool": 13 }[kind];
      assert.equal(m.usage.output_tokens, expected);
      return;
    }
    case "an-error": {
      await assert.rejects(
        anthropic.messages
          .stream({ model: anthropicModel, max_tokens: 256, messages: anMessages("an-error") })
          .finalMessage(),
        Anthropic.APIError,
      );
      return;
    }
    case "an-abort": {
      const controller = new AbortController();
      const s = await anthropic.messages.create(
        { model: anthropicModel, max_tokens: 256, messages: anMessages("an-slow"), stream: true },
        { signal: controller.signal },
      );
      let seen = 0;
      try {
        for await (const e of s) {
          if (e.type === "content_block_delta" && ++seen === 3) controller.abort();
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
      // The SDK may still hand out an event it had already buffered when abort() was called.
      assert.ok(seen >= 3 && seen < 10, `saw ${seen} chunks`);
      return;
    }
    case "an-count": {
      const r = await anthropic.messages.countTokens({
        model: anthropicModel,
        messages: anMessages("an-plain"),
      });
      assert.equal(r.input_tokens, 120);
      return;
    }
  }
}

function sumRows(rows: LlmCall[], provider: string): UsageTotals {
  const mine = rows.filter((r) => r.provider === provider && r.endpoint !== "/v1/messages/count_tokens");
  return {
    calls: mine.filter((r) => r.inputTokens + r.outputTokens + r.cacheCreationTokens + r.cacheReadTokens > 0)
      .length,
    inputTokens: mine.reduce((s, r) => s + r.inputTokens, 0),
    outputTokens: mine.reduce((s, r) => s + r.outputTokens, 0),
    cacheCreationTokens: mine.reduce((s, r) => s + r.cacheCreationTokens, 0),
    cacheReadTokens: mine.reduce((s, r) => s + r.cacheReadTokens, 0),
  };
}

async function waitForRows(harness: ProxyHarness, runId: string, expected: number): Promise<LlmCall[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    // Aborted calls finish on the proxy a moment after the client gave up; then flush commits them.
    const rows = await harness.rows(runId);
    if (rows.length >= expected || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

for (const kind of testDatabaseKinds()) {
  describe(`proxy accounting on ${kind.name}`, { skip: kind.skip }, () => {
    let harness: ProxyHarness;
    before(async () => {
      harness = await startProxyHarness(kind);
      for (const [name, script] of Object.entries(scripts)) harness.upstream.define(name, script);
    });
    after(async () => {
      await harness.close();
    });

    it(`${calls} mixed SDK calls: the llm_calls rows add up exactly to the usage the upstream declared`, async () => {
      const { runId, openai, anthropic } = await harness.newRun();
      const failures: string[] = [];
      await runBounded(calls, concurrency, async (i) => {
        const callKind = kinds[(i * 7) % kinds.length]!;
        try {
          await runCall(callKind, i, openai, anthropic);
        } catch (error) {
          failures.push(`call ${i} (${callKind}): ${(error as Error).message}`);
        }
      });
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} calls failed`);

      const rows = await waitForRows(harness, runId, calls);
      assert.equal(rows.length, calls, "one llm_calls row per request");
      assert.deepEqual(
        harness.upstream.unexpected.map((r) => `${r.path}: ${r.problem ?? ""}`),
        [],
      );

      assert.deepEqual(sumRows(rows, "openai"), harness.upstream.totals.openai);
      assert.deepEqual(sumRows(rows, "anthropic"), harness.upstream.totals.anthropic);

      // Aborted streams are on the record with the usage seen so far.
      const aborted = rows.filter((r) => r.clientAborted);
      assert.equal(aborted.length, 100);
      for (const r of aborted.filter((r) => r.provider === "anthropic")) {
        assert.deepEqual([r.inputTokens, r.cacheCreationTokens, r.outputTokens], [66, 5, 1]);
      }
      for (const r of aborted.filter((r) => r.provider === "openai")) {
        assert.deepEqual([r.inputTokens, r.outputTokens], [0, 0]);
      }

      // Retries: every request the upstream received is one attempt on some row.
      const upstreamAttempts = harness.upstream.requests.filter(
        (r) => r.path !== "/v1/messages/count_tokens",
      ).length;
      const rowAttempts = rows
        .filter((r) => r.endpoint !== "/v1/messages/count_tokens")
        .reduce((s, r) => s + r.upstreamAttempts, 0);
      assert.equal(rowAttempts, upstreamAttempts);
      assert.ok(
        rows.some((r) => r.upstreamAttempts > 1),
        "the flaky script's faults were retried",
      );

      // count_tokens is forwarded, recorded, never billed.
      const counted = rows.filter((r) => r.endpoint === "/v1/messages/count_tokens");
      assert.equal(counted.length, 50);
      assert.ok(counted.every((r) => r.inputTokens === 0 && Number(r.costUsd) === 0));
      assert.equal(harness.upstream.countTokensCalls, 50);

      // Streamed and non-streamed forms of one exchange cost the same.
      const costByUsage = new Map<string, Set<string>>();
      for (const r of rows) {
        if (r.inputTokens === 0) continue;
        const key = [r.model, r.inputTokens, r.outputTokens, r.cacheCreationTokens, r.cacheReadTokens].join(
          "/",
        );
        const set = costByUsage.get(key) ?? new Set<string>();
        set.add(String(r.costUsd));
        costByUsage.set(key, set);
      }
      for (const [key, costs] of costByUsage)
        assert.equal(costs.size, 1, `${key} was costed ${[...costs].join(" and ")}`);
      const anthropicJson = rows.find(
        (r) => r.provider === "anthropic" && !r.stream && r.inputTokens === 120,
      );
      const anthropicStream = rows.find(
        (r) => r.provider === "anthropic" && r.stream && r.inputTokens === 120,
      );
      assert.ok(anthropicJson && anthropicStream);
      assert.equal(anthropicJson.costUsd, anthropicStream.costUsd);
      assert.ok(Number(anthropicJson.costUsd) > 0);
    });
  });
}
