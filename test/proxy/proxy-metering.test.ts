import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

// Metering through the proxy with the official SDKs against the scripted upstream: every
// stream shape yields the usage the upstream declared, and streamed and non-streamed
// forms of one exchange cost the same.
for (const kind of testDatabaseKinds()) {
  describe(`proxy metering on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    before(async () => {
      h = await startProxyHarness(kind);
      h.upstream.define("five", { chunks: 5, inputTokens: 40 });
      h.upstream.define("cached-oa", { chunks: 3, inputTokens: 50, cacheReadTokens: 11 });
      h.upstream.define("on-last", { chunks: 3, inputTokens: 20, usagePlacement: "last-content-chunk" });
      h.upstream.define("tool", {
        chunks: 4,
        inputTokens: 30,
        outputTokens: 9,
        toolCall: { name: "read_file", arguments: '{"path":"src/index.ts","lines":[1,20]}' },
      });
      h.upstream.define("cached-an", {
        chunks: 3,
        inputTokens: 50,
        cacheCreationTokens: 7,
        cacheReadTokens: 11,
      });
      h.upstream.define("two-deltas", { chunks: 6, inputTokens: 25, outputTokens: 12, messageDeltas: 2 });
      h.upstream.define("repeats", {
        chunks: 4,
        inputTokens: 25,
        cacheReadTokens: 5,
        messageDeltas: 3,
        deltaUsageRepeatsInput: true,
      });
      h.upstream.define("stream-error", {
        chunks: 6,
        inputTokens: 10,
        alwaysFault: { kind: "stream-error", afterChunks: 2 },
      });
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
        "the upstream saw no request a real provider would reject",
      );
      await h.close();
    });

    it("chat completions: non-stream, stream without and with include_usage cost the same", async () => {
      const { runId, token } = await h.newRun();
      const openai = h.openai(token);
      const messages = [{ role: "user" as const, content: "hi [[script:five]]" }];
      const plain = await openai.chat.completions.create({ model: "gpt-4o-mini", messages });
      assert.equal(plain.choices[0]?.message.content, "w0 w1 w2 w3 w4");
      assert.equal(plain.usage?.prompt_tokens, 40);

      const chunks = [];
      for await (const chunk of await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages,
        stream: true,
      })) {
        chunks.push(chunk);
      }
      // The proxy asked for usage; the client, which did not, must not see the usage-only chunk.
      assert.ok(chunks.length >= 6);
      for (const chunk of chunks) {
        assert.ok(chunk.choices.length > 0, "no empty-choices usage chunk reaches the client");
        assert.ok(!chunk.usage, "no usage reaches a client that did not ask for it");
      }
      assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "w0 w1 w2 w3 w4");
      const upstreamBody = h.upstream.requests.at(-1)?.body as {
        stream_options?: { include_usage?: boolean };
      };
      assert.equal(upstreamBody.stream_options?.include_usage, true);

      const asked = [];
      for await (const chunk of await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      })) {
        asked.push(chunk);
      }
      const usageChunk = asked.at(-1);
      assert.equal(usageChunk?.choices.length, 0);
      assert.equal(usageChunk?.usage?.prompt_tokens, 40);
      assert.equal(usageChunk?.usage?.completion_tokens, 5);

      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.endpoint, r.stream, r.status, r.inputTokens, r.outputTokens, r.costUsd, r.priced]),
        [
          ["/v1/chat/completions", false, 200, 40, 5, "0.0000090000", true],
          ["/v1/chat/completions", true, 200, 40, 5, "0.0000090000", true],
          ["/v1/chat/completions", true, 200, 40, 5, "0.0000090000", true],
        ],
      );
      for (const row of rows) {
        assert.equal(row.provider, "openai");
        assert.equal(row.attempt, 0);
        assert.equal(row.clientAborted, false);
        assert.equal(row.upstreamAttempts, 1);
        assert.ok(row.latencyMs >= 0 && row.ttfbMs !== null && row.ttfbMs <= row.latencyMs);
        assert.match(row.requestBody ?? "", /script:five/);
        assert.match(row.responseBody ?? "", /w4/);
      }
    });

    it("chat completions: usage on the last content chunk, cached tokens, tool calls", async () => {
      const { runId, token } = await h.newRun();
      const openai = h.openai(token);
      const onLast = [];
      for await (const chunk of await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:on-last]]" }],
        stream: true,
      })) {
        onLast.push(chunk);
      }
      assert.equal(onLast.at(-1)?.choices[0]?.finish_reason, "stop");
      assert.ok(
        onLast.every((c) => !c.usage),
        "the usage field is removed from the last content chunk",
      );
      assert.equal(onLast.map((c) => c.choices[0]?.delta.content ?? "").join(""), "w0 w1 w2");

      const onLastAsked = [];
      for await (const chunk of await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:on-last]]" }],
        stream: true,
        stream_options: { include_usage: true },
      })) {
        onLastAsked.push(chunk);
      }
      assert.equal(onLastAsked.at(-1)?.usage?.completion_tokens, 3);

      const cached = await openai.chat.completions.create({
        model: "gpt-4o-mini-2024-07-18",
        messages: [{ role: "user", content: "[[script:cached-oa]]" }],
      });
      assert.equal(cached.usage?.prompt_tokens_details?.cached_tokens, 11);
      const cachedStream = openai.chat.completions.stream({
        model: "gpt-4o-mini-2024-07-18",
        messages: [{ role: "user", content: "[[script:cached-oa]]" }],
      });
      await cachedStream.finalChatCompletion();

      let args = "";
      for await (const chunk of await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:tool]]" }],
        stream: true,
        tools: [{ type: "function", function: { name: "read_file", parameters: { type: "object" } } }],
      })) {
        args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
      }
      assert.deepEqual(JSON.parse(args), { path: "src/index.ts", lines: [1, 20] });

      const rows = await h.rows(runId);
      // gpt-4o-mini: input 0.15, cached 0.075, output 0.60 USD per million tokens.
      assert.deepEqual(
        rows.map((r) => [r.inputTokens, r.outputTokens, r.cacheReadTokens, r.costUsd]),
        [
          [20, 3, 0, "0.0000048000"],
          [20, 3, 0, "0.0000048000"],
          [50, 3, 11, "0.0000084750"],
          [50, 3, 11, "0.0000084750"],
          [30, 9, 0, "0.0000099000"],
        ],
      );
    });

    it("responses: usage from response.completed, stream_options never added", async () => {
      const { runId, token } = await h.newRun();
      const openai = h.openai(token);
      const plain = await openai.responses.create({ model: "gpt-4.1", input: "say [[script:five]]" });
      assert.equal(plain.output_text, "w0 w1 w2 w3 w4");
      const events = [];
      for await (const event of await openai.responses.create({
        model: "gpt-4.1",
        input: "say [[script:five]]",
        stream: true,
      })) {
        events.push(event.type);
      }
      assert.equal(events.at(-1), "response.completed");
      const sent = h.upstream.requests.filter((r) => r.path === "/v1/responses").map((r) => r.body);
      assert.ok(sent.every((b) => (b as Record<string, unknown>).stream_options === undefined));
      const rows = await h.rows(runId);
      // gpt-4.1: input 2, output 8 USD per million tokens.
      assert.deepEqual(
        rows.map((r) => [r.endpoint, r.stream, r.inputTokens, r.outputTokens, r.costUsd]),
        [
          ["/v1/responses", false, 40, 5, "0.0001200000"],
          ["/v1/responses", true, 40, 5, "0.0001200000"],
        ],
      );
    });

    it("anthropic: cache tokens apart, output from the last cumulative message_delta, stream = non-stream", async () => {
      const { runId, token } = await h.newRun();
      const anthropic = h.anthropic(token);
      for (const script of ["cached-an", "two-deltas", "repeats"]) {
        const params = {
          model: "claude-sonnet-4-20250514",
          max_tokens: 256,
          messages: [{ role: "user" as const, content: `[[script:${script}]]` }],
        };
        const plain = await anthropic.messages.create(params);
        const stream = anthropic.messages.stream(params);
        const streamed = await stream.finalMessage();
        assert.deepEqual(streamed.usage.output_tokens, plain.usage.output_tokens);
      }
      const rows = await h.rows(runId);
      // claude-sonnet-4: input 3, output 15, cache write 3.75, cache read 0.30 USD per million tokens.
      assert.deepEqual(
        rows.map((r) => [
          r.stream,
          r.inputTokens,
          r.outputTokens,
          r.cacheCreationTokens,
          r.cacheReadTokens,
          r.costUsd,
          r.provider,
        ]),
        [
          [false, 50, 3, 7, 11, "0.0002245500", "anthropic"],
          [true, 50, 3, 7, 11, "0.0002245500", "anthropic"],
          [false, 25, 12, 0, 0, "0.0002550000", "anthropic"],
          [true, 25, 12, 0, 0, "0.0002550000", "anthropic"],
          [false, 25, 4, 0, 5, "0.0001365000", "anthropic"],
          [true, 25, 4, 0, 5, "0.0001365000", "anthropic"],
        ],
      );
    });

    it("anthropic: tool-use stream, error event recorded with the usage seen", async () => {
      const { runId, token } = await h.newRun();
      const anthropic = h.anthropic(token);
      const tool = await anthropic.messages
        .stream({
          model: "claude-haiku-4-5",
          max_tokens: 100,
          messages: [{ role: "user", content: "[[script:tool]]" }],
          tools: [{ name: "read_file", input_schema: { type: "object" } }],
        })
        .finalMessage();
      const block = tool.content.find((b) => b.type === "tool_use");
      assert.deepEqual(block?.type === "tool_use" ? block.input : undefined, {
        path: "src/index.ts",
        lines: [1, 20],
      });

      await assert.rejects(async () => {
        const stream = await anthropic.messages.create({
          model: "claude-haiku-4-5",
          max_tokens: 100,
          messages: [{ role: "user", content: "[[script:stream-error]]" }],
          stream: true,
        });
        for await (const event of stream) void event;
      });
      const rows = await h.rows(runId);
      assert.equal(rows.length, 2);
      // claude-haiku-4-5: input 1, output 5 USD per million tokens.
      assert.deepEqual(
        [rows[0]!.inputTokens, rows[0]!.outputTokens, rows[0]!.costUsd],
        [30, 9, "0.0000750000"],
      );
      assert.equal(rows[1]!.inputTokens, 10);
      assert.match(rows[1]!.error ?? "", /overloaded_error|api_error|error/);
    });

    it("count_tokens is forwarded and never billed; models are listed", async () => {
      const { runId, token } = await h.newRun({ budgetTokens: 1 });
      const before = h.upstream.countTokensCalls;
      const counted = await h.anthropic(token).messages.countTokens({
        model: "claude-sonnet-4-20250514",
        messages: [{ role: "user", content: "count me [[script:five]]" }],
      });
      assert.equal(counted.input_tokens, 40);
      assert.equal(h.upstream.countTokensCalls, before + 1);
      const models = await h.openai(token).models.list();
      assert.deepEqual(
        models.data.map((m) => m.id),
        ["gpt-4o-mini", "gpt-4.1", "o4-mini"],
      );
      // A second count still passes: count_tokens consumed nothing of the 1-token budget.
      await h.anthropic(token).messages.countTokens({
        model: "claude-sonnet-4-20250514",
        messages: [{ role: "user", content: "again" }],
      });
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.endpoint, r.status, r.inputTokens + r.outputTokens, r.costUsd]),
        [
          ["/v1/messages/count_tokens", 200, 0, "0.0000000000"],
          ["/v1/models", 200, 0, "0.0000000000"],
          ["/v1/messages/count_tokens", 200, 0, "0.0000000000"],
        ],
      );
    });

    it("an unknown model: tokens recorded, cost flagged unpriced, logged", async () => {
      const { runId, token } = await h.newRun();
      await h.openai(token).chat.completions.create({
        model: "mystery-model-7",
        messages: [{ role: "user", content: "[[script:five]]" }],
      });
      const [row] = await h.rows(runId);
      assert.deepEqual(
        [row?.inputTokens, row?.outputTokens, row?.priced, row?.costUsd],
        [40, 5, false, "0.0000000000"],
      );
      assert.ok(h.logLines.some((l) => l.includes("mystery-model-7") && l.includes("no price")));
    });
  });
}
