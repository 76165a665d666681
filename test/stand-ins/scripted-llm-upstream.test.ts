import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "./scripted-llm-upstream.ts";

// The stand-in checked against the official clients pointed straight at it: if the SDKs
// parse every shape and report the usage the stand-in declared, the proxy's tests can
// trust it as "the provider".
describe("scripted LLM upstream, read by the official SDKs", () => {
  let upstream: ScriptedUpstream;
  let openai: OpenAI;
  let anthropic: Anthropic;

  before(async () => {
    upstream = await startScriptedUpstream();
    openai = new OpenAI({
      baseURL: `${upstream.url}/v1`,
      apiKey: scriptedUpstreamDefaults.openaiApiKey,
      maxRetries: 0,
    });
    anthropic = new Anthropic({
      baseURL: upstream.url,
      apiKey: scriptedUpstreamDefaults.anthropicApiKey,
      maxRetries: 0,
    });
    upstream.define("five", { chunks: 5, inputTokens: 40 });
    upstream.define("cached", { chunks: 3, inputTokens: 50, cacheCreationTokens: 7, cacheReadTokens: 11 });
    upstream.define("tool", {
      chunks: 4,
      inputTokens: 30,
      outputTokens: 9,
      toolCall: { name: "read_file", arguments: '{"path":"src/index.ts","lines":[1,20]}' },
    });
    upstream.define("on-last", { chunks: 3, inputTokens: 20, usagePlacement: "last-content-chunk" });
    upstream.define("two-deltas", { chunks: 6, inputTokens: 25, outputTokens: 12, messageDeltas: 2 });
    upstream.define("stream-error", {
      chunks: 6,
      inputTokens: 10,
      alwaysFault: { kind: "stream-error", afterChunks: 2 },
    });
    upstream.define("busy", { faults: [{ kind: "status", status: 429, retryAfterSeconds: 3 }] });
    upstream.define("slow", { chunks: 20, chunkDelayMs: 20, inputTokens: 33 });
  });
  after(async () => {
    await upstream.close();
  });

  it("chat completions: non-stream and stream (usage only when asked) agree", async () => {
    upstream.reset();
    const messages = [{ role: "user" as const, content: "hi [[script:five]]" }];
    const plain = await openai.chat.completions.create({ model: "gpt-4o-mini", messages });
    assert.equal(plain.choices[0]?.message.content, "w0 w1 w2 w3 w4");
    assert.equal(plain.usage?.prompt_tokens, 40);
    assert.equal(plain.usage?.completion_tokens, 5);

    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    let emptyChoiceChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.choices.length === 0) emptyChoiceChunks += 1;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, "w0 w1 w2 w3 w4");
    assert.equal(emptyChoiceChunks, 1);
    assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens, usage?.total_tokens], [40, 5, 45]);

    const silent = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true });
    for await (const chunk of silent) assert.equal(chunk.usage, undefined);

    assert.deepEqual(upstream.totals.openai, {
      calls: 2,
      inputTokens: 80,
      outputTokens: 10,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
    });
    assert.equal(upstream.requests.length, 3);
  });

  it("chat completions: usage on the last content chunk, and streamed tool calls", async () => {
    upstream.reset();
    const onLast = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "[[script:on-last]]" }],
      stream: true,
    });
    const seen: Array<{
      content: string | null | undefined;
      finish: string | null | undefined;
      usage: unknown;
    }> = [];
    for await (const chunk of onLast) {
      seen.push({
        content: chunk.choices[0]?.delta.content,
        finish: chunk.choices[0]?.finish_reason,
        usage: chunk.usage,
      });
    }
    const last = seen.at(-1);
    assert.equal(last?.content, " w2");
    assert.equal(last?.finish, "stop");
    assert.equal((last?.usage as OpenAI.CompletionUsage).completion_tokens, 3);

    const runner = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "read it [[script:tool]]" }],
      stream_options: { include_usage: true },
    });
    const completion = await runner.finalChatCompletion();
    const call = completion.choices[0]?.message.tool_calls?.[0];
    assert.equal(call?.type, "function");
    assert.equal(
      call?.type === "function" ? call.function.arguments : "",
      '{"path":"src/index.ts","lines":[1,20]}',
    );
    assert.equal(call?.type === "function" ? call.function.name : "", "read_file");
    assert.equal(completion.choices[0]?.finish_reason, "tool_calls");
    assert.equal(completion.usage?.completion_tokens, 9);

    const plainTool = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "read it [[script:tool]]" }],
    });
    assert.equal(plainTool.choices[0]?.message.tool_calls?.length, 1);
    assert.deepEqual(upstream.totals.openai, {
      calls: 3,
      inputTokens: 20 + 30 + 30,
      outputTokens: 3 + 9 + 9,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
    });
  });

  it("responses: non-stream and typed stream events carry the same usage", async () => {
    upstream.reset();
    const plain = await openai.responses.create({ model: "gpt-4.1", input: "hello [[script:five]]" });
    assert.equal(plain.output_text, "w0 w1 w2 w3 w4");
    assert.equal(plain.usage?.input_tokens, 40);
    assert.equal(plain.usage?.output_tokens, 5);

    const stream = await openai.responses.create({
      model: "gpt-4.1",
      input: "hello [[script:five]]",
      stream: true,
    });
    const types: string[] = [];
    let deltas = "";
    let completedUsage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas += event.delta;
      if (event.type === "response.completed") completedUsage = event.response.usage;
    }
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.equal(deltas, "w0 w1 w2 w3 w4");
    assert.equal(completedUsage?.output_tokens, 5);
    assert.equal(upstream.totals.openai.inputTokens, 80);
    assert.equal(upstream.totals.openai.outputTokens, 10);

    await assert.rejects(
      fetch(`${upstream.url}/v1/responses`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${scriptedUpstreamDefaults.openaiApiKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          model: "gpt-4.1",
          input: "x",
          stream: true,
          stream_options: { include_usage: true },
        }),
      }).then((r) => (r.status === 400 ? Promise.reject(new Error("400")) : r)),
      /400/,
    );
    assert.equal(upstream.takeUnexpected().length, 1);
  });

  it("models list", async () => {
    const page = await openai.models.list();
    assert.ok(page.data.some((m) => m.id === "gpt-4o-mini"));
  });

  it("anthropic messages: non-stream with cache fields, and stream with ping", async () => {
    upstream.reset();
    const params = {
      model: "claude-test-model",
      max_tokens: 100,
      messages: [{ role: "user" as const, content: "hi [[script:cached]]" }],
    };
    const plain = await anthropic.messages.create(params);
    assert.deepEqual(
      [
        plain.usage.input_tokens,
        plain.usage.output_tokens,
        plain.usage.cache_creation_input_tokens,
        plain.usage.cache_read_input_tokens,
      ],
      [50, 3, 7, 11],
    );
    assert.equal(plain.content[0]?.type === "text" ? plain.content[0].text : "", "w0 w1 w2");

    const stream = anthropic.messages.stream(params);
    const final = await stream.finalMessage();
    assert.equal(final.content[0]?.type === "text" ? final.content[0].text : "", "w0 w1 w2");
    assert.deepEqual(
      [
        final.usage.input_tokens,
        final.usage.output_tokens,
        final.usage.cache_creation_input_tokens,
        final.usage.cache_read_input_tokens,
      ],
      [50, 3, 7, 11],
    );
    assert.deepEqual(upstream.totals.anthropic, {
      calls: 2,
      inputTokens: 100,
      outputTokens: 6,
      cacheCreationTokens: 14,
      cacheReadTokens: 22,
    });
  });

  it("anthropic: cumulative message_delta counted once; tool_use streamed; error event mid-stream", async () => {
    upstream.reset();
    const twice = anthropic.messages.stream({
      model: "claude-test-model",
      max_tokens: 100,
      messages: [{ role: "user", content: "[[script:two-deltas]]" }],
    });
    const deltaOutputs: number[] = [];
    twice.on("streamEvent", (event) => {
      if (event.type === "message_delta") deltaOutputs.push(event.usage.output_tokens);
    });
    const final = await twice.finalMessage();
    assert.deepEqual(deltaOutputs, [6, 12]);
    assert.equal(final.usage.output_tokens, 12);
    assert.equal(upstream.totals.anthropic.outputTokens, 12);

    const tool = await anthropic.messages
      .stream({
        model: "claude-test-model",
        max_tokens: 100,
        messages: [{ role: "user", content: "[[script:tool]]" }],
      })
      .finalMessage();
    const block = tool.content[0];
    assert.equal(block?.type, "tool_use");
    assert.deepEqual(block?.type === "tool_use" ? block.input : undefined, {
      path: "src/index.ts",
      lines: [1, 20],
    });
    assert.equal(tool.stop_reason, "tool_use");

    const failing = anthropic.messages.stream({
      model: "claude-test-model",
      max_tokens: 100,
      messages: [{ role: "user", content: "[[script:stream-error]]" }],
    });
    await assert.rejects(failing.finalMessage(), (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.match(String(error.message), /overloaded_error|Overloaded/);
      return true;
    });
    // The failed stream declared its input and message_start's output before the error.
    assert.deepEqual(upstream.totals.anthropic, {
      calls: 3,
      inputTokens: 25 + 30 + 10,
      outputTokens: 12 + 9 + 1,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
    });
  });

  it("count_tokens is answered and never billed", async () => {
    upstream.reset();
    const counted = await anthropic.messages.countTokens({
      model: "claude-test-model",
      messages: [{ role: "user", content: "[[script:five]]" }],
    });
    assert.equal(counted.input_tokens, 40);
    assert.equal(upstream.countTokensCalls, 1);
    assert.equal(upstream.totals.anthropic.calls, 0);
  });

  it("faults: 429 with retry-after in each provider's shape, then success", async () => {
    upstream.reset();
    await assert.rejects(
      openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:busy]]" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal(error.headers.get("retry-after"), "3");
        return true;
      },
    );
    const ok = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "[[script:busy]]" }],
    });
    assert.equal(ok.choices[0]?.finish_reason, "stop");
  });

  it("a client abort stops the stream and nothing more is declared", async () => {
    upstream.reset();
    const controller = new AbortController();
    const stream = await anthropic.messages.create(
      {
        model: "claude-test-model",
        max_tokens: 100,
        messages: [{ role: "user", content: "[[script:slow]]" }],
        stream: true,
      },
      { signal: controller.signal },
    );
    let deltas = 0;
    for await (const event of stream) {
      if (event.type === "content_block_delta" && ++deltas === 3) controller.abort();
    }
    // Once the stand-in has stopped answering: had it missed the abort, it would have streamed
    // to the end and declared the output first.
    await upstream.idle();
    assert.deepEqual(upstream.totals.anthropic, {
      calls: 1,
      inputTokens: 33,
      outputTokens: 1,
      cacheCreationTokens: 0,
      cacheReadTokens: 0,
    });
  });

  it("faults: reset, 500/503, delay before the first byte, slow and early-ending streams", async () => {
    upstream.reset();
    upstream.define("reset", { alwaysFault: { kind: "reset" } });
    upstream.define("s500", { alwaysFault: { kind: "status", status: 500 } });
    upstream.define("s503", { alwaysFault: { kind: "status", status: 503 } });
    upstream.define("late", { firstByteDelayMs: 200, chunks: 2 });
    upstream.define("drip", { chunks: 5, chunkDelayMs: 60 });
    upstream.define("early", { chunks: 10, alwaysFault: { kind: "end-early", afterChunks: 3 } });
    upstream.define("cut", { chunks: 10, alwaysFault: { kind: "reset-mid-stream", afterChunks: 3 } });
    const ask = (script: string, stream = false) =>
      fetch(`${upstream.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${scriptedUpstreamDefaults.openaiApiKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
          messages: [{ role: "user", content: `[[script:${script}]]` }],
        }),
      });
    await assert.rejects(ask("reset"));
    const e500 = await ask("s500");
    assert.equal(e500.status, 500);
    assert.equal(((await e500.json()) as { error: { type: string } }).error.type, "server_error");
    assert.equal((await ask("s503")).status, 503);

    let started = performance.now();
    const late = await ask("late");
    assert.ok(performance.now() - started >= 190, "headers came after the scripted delay");
    await late.text();

    started = performance.now();
    const drip = await ask("drip", true);
    const arrivals: number[] = [];
    for await (const _ of drip.body!) arrivals.push(performance.now() - started);
    assert.ok(arrivals.at(-1)! >= 5 * 55, `a 5 × 60 ms stream ended after ${arrivals.at(-1)} ms`);

    const early = await (await ask("early", true)).text();
    assert.equal(early.match(/"content":" ?w\d"/g)?.length, 3);
    assert.ok(!early.includes("[DONE]") && !early.includes('"usage":{'));

    const cut = await ask("cut", true);
    await assert.rejects(cut.text());
    // Only the completed drip and late exchanges declared usage; faults declare none.
    assert.equal(upstream.totals.openai.calls, 2);
  });

  it("refuses wrong keys, missing anthropic-version and unknown routes, and lists them", async () => {
    upstream.reset();
    const wrong = new OpenAI({ baseURL: `${upstream.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);
    const wrongAnthropic = new Anthropic({ baseURL: upstream.url, apiKey: "nope", maxRetries: 0 });
    await assert.rejects(
      wrongAnthropic.messages.create({
        model: "claude-test-model",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
      Anthropic.AuthenticationError,
    );
    const noVersion = await fetch(`${upstream.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": scriptedUpstreamDefaults.anthropicApiKey, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-test-model", max_tokens: 5, messages: [] }),
    });
    assert.equal(noVersion.status, 400);
    const unknown = await fetch(`${upstream.url}/v1/embeddings`, { method: "POST" });
    assert.equal(unknown.status, 404);
    await unknown.text();
    await assert.rejects(
      openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:nope]]" }],
      }),
      OpenAI.BadRequestError,
    );
    assert.deepEqual(
      upstream.takeUnexpected().map((r) => r.status),
      [401, 401, 400, 404, 400],
    );
  });

  it("close() throws on a request nobody expected unless the test took it", async () => {
    const strict = await startScriptedUpstream();
    const lenient = await startScriptedUpstream();
    for (const stub of [strict, lenient]) {
      const answer = await fetch(`${stub.url}/v1/embeddings`, { method: "POST" });
      assert.equal(answer.status, 404);
      await answer.text();
    }
    await assert.rejects(
      strict.close(),
      /saw 1 request\(s\) nobody expected[\s\S]*POST \/v1\/embeddings: unknown route/,
    );
    assert.equal(lenient.takeUnexpected().length, 1);
    await lenient.close();
  });
});
