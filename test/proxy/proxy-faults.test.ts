import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { openDatabase } from "../../core/db/open-database.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

async function send(
  url: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
) {
  const res = await fetch(`${url}${path}`, {
    method: init.method ?? "POST",
    headers: init.headers,
    body: init.body,
  });
  return { status: res.status, text: await res.text() };
}

function metricValue(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

for (const kind of testDatabaseKinds()) {
  describe(`proxy faults on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    let backup: ScriptedUpstream;
    before(async () => {
      backup = await startScriptedUpstream();
      h = await startProxyHarness(kind, (upstream) => ({
        upstreams: {
          openai: { baseUrl: `${upstream.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
          anthropic: { baseUrl: upstream.url, apiKey: scriptedUpstreamDefaults.anthropicApiKey },
          extra: { backup: { baseUrl: `${backup.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey } },
        },
        fallback: { openai: ["backup"] },
        timeouts: { firstByteMs: 300 },
        bodyLimitBytes: 64 * 1024,
      }));
      for (const up of [h.upstream, backup]) up.define("ok", { chunks: 2, inputTokens: 10 });
      h.upstream.define("flaky", {
        chunks: 2,
        inputTokens: 10,
        faults: [
          { kind: "status", status: 503 },
          { kind: "status", status: 429, retryAfterSeconds: 0 },
        ],
      });
      h.upstream.define("reset-once", { chunks: 2, inputTokens: 10, faults: [{ kind: "reset" }] });
      h.upstream.define("down", { alwaysFault: { kind: "status", status: 500 } });
      // Far beyond the 300 ms first-byte timeout: timers in a loaded test process fire late.
      h.upstream.define("sluggish", { firstByteDelayMs: 4000, chunks: 2 });
      h.upstream.define("busy-long", { faults: [{ kind: "status", status: 429, retryAfterSeconds: 30 }] });
      h.upstream.define("slow-stream", { chunks: 30, chunkDelayMs: 30, inputTokens: 12 });
      backup.define("down", { chunks: 3, inputTokens: 11 });
      backup.define("sluggish", { chunks: 3, inputTokens: 11 });
    });
    after(async () => {
      try {
        await h.close();
      } finally {
        await backup.close();
      }
    });

    const chat = (script: string, model = "gpt-4o-mini") => ({
      model,
      messages: [{ role: "user" as const, content: `[[script:${script}]]` }],
    });

    it("retries 503 and 429 (honouring retry-after) and a reset before the first byte", async () => {
      const { runId, token } = await h.newRun();
      const openai = h.openai(token);
      const flaky = await openai.chat.completions.create(chat("flaky"));
      assert.equal(flaky.usage?.prompt_tokens, 10);
      const reset = await openai.chat.completions.create(chat("reset-once"));
      assert.equal(reset.usage?.prompt_tokens, 10);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.status, r.upstreamAttempts, r.provider]),
        [
          [200, 3, "openai"],
          [200, 2, "openai"],
        ],
      );
    });

    it("passes a retry-after beyond the cap straight back in the provider's shape", async () => {
      const { runId, token } = await h.newRun();
      const started = Date.now();
      // Anthropic has no fallback configured here, so the upstream's own 429 reaches the client.
      const error = await h
        .anthropic(token)
        .messages.create({
          model: "claude-haiku-4-5",
          max_tokens: 5,
          messages: [{ role: "user", content: "[[script:busy-long]]" }],
        })
        .then(
          () => assert.fail("expected 429"),
          (e: unknown) => e,
        );
      assert.ok(error instanceof Anthropic.RateLimitError);
      assert.equal((error.error as { error: { type: string } }).error.type, "rate_limit_error");
      assert.ok(Date.now() - started < 10_000, "did not wait 30 s");
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.status, r.upstreamAttempts]),
        [[429, 1]],
      );
    });

    it("falls back to the next upstream after retries (errors and first-byte timeouts)", async () => {
      const { runId, token } = await h.newRun();
      const openai = h.openai(token);
      const viaBackup = await openai.chat.completions.create(chat("down"));
      assert.equal(viaBackup.usage?.prompt_tokens, 11);
      const afterTimeout = await openai.chat.completions.create(chat("sluggish"));
      assert.equal(afterTimeout.usage?.prompt_tokens, 11);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.status, r.provider, r.upstreamAttempts, r.inputTokens]),
        [
          [200, "backup", 4, 11],
          [200, "backup", 4, 11],
        ],
      );
    });

    it("without a fallback, answers the upstream's error, or 504 after timeouts, in the provider's shape", async () => {
      const { runId, token } = await h.newRun();
      const anthropicDown = await send(h.url, "/v1/messages", {
        headers: { "x-api-key": token, "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-haiku-4-5",
          max_tokens: 5,
          messages: [{ role: "user", content: "[[script:down]]" }],
        }),
      });
      assert.equal(anthropicDown.status, 500);
      assert.equal((JSON.parse(anthropicDown.text) as { type: string }).type, "error");
      const anthropicSlow = await send(h.url, "/v1/messages", {
        headers: { "x-api-key": token, "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-haiku-4-5",
          max_tokens: 5,
          messages: [{ role: "user", content: "[[script:sluggish]]" }],
        }),
      });
      assert.equal(anthropicSlow.status, 504);
      assert.deepEqual(JSON.parse(anthropicSlow.text), {
        type: "error",
        error: { type: "api_error", message: "upstream anthropic did not answer in time after 3 attempts" },
      });
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => [r.status, r.upstreamAttempts]),
        [
          [500, 3],
          [504, 3],
        ],
      );
    });

    it("answers 400 for malformed JSON or no model, 413 over the size limit, 404 for unknown routes", async () => {
      const { runId, token } = await h.newRun();
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const before = h.upstream.requests.length;
      const malformed = await send(h.url, "/v1/chat/completions", {
        headers: auth,
        body: '{"model": "gpt-4o-mini",',
      });
      assert.equal(malformed.status, 400);
      assert.match(
        (JSON.parse(malformed.text) as { error: { message: string } }).error.message,
        /not valid JSON/,
      );
      const noModel = await send(h.url, "/v1/chat/completions", { headers: auth, body: '{"messages": []}' });
      assert.equal(noModel.status, 400);
      const big = await send(h.url, "/v1/chat/completions", {
        headers: auth,
        body: JSON.stringify({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "x".repeat(70 * 1024) }],
        }),
      });
      assert.equal(big.status, 413);
      assert.equal((JSON.parse(big.text) as { error: { code: string } }).error.code, "request_too_large");
      const bigAnthropic = await send(h.url, "/v1/messages", {
        headers: { "x-api-key": token, "content-type": "application/json" },
        body: "y".repeat(70 * 1024),
      });
      assert.equal(bigAnthropic.status, 413);
      assert.equal(
        (JSON.parse(bigAnthropic.text) as { error: { type: string } }).error.type,
        "request_too_large",
      );
      const unknown = await send(h.url, "/v1/embeddings", { headers: auth, body: "{}" });
      assert.equal(unknown.status, 404);
      assert.equal((JSON.parse(unknown.text) as { error: { code: string } }).error.code, "unknown_url");
      const unknownAnthropic = await send(h.url, "/v1/messages/batches", { headers: auth, body: "{}" });
      assert.equal(unknownAnthropic.status, 404);
      assert.equal(
        (JSON.parse(unknownAnthropic.text) as { error: { type: string } }).error.type,
        "not_found_error",
      );
      const wrongMethod = await send(h.url, "/v1/chat/completions", { method: "GET", headers: auth });
      assert.equal(wrongMethod.status, 404);
      assert.equal(h.upstream.requests.length, before, "nothing invalid was forwarded");
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => r.status),
        [400, 400, 413, 413],
      );
    });

    it("records bodies holding NUL or a lone surrogate, and keeps serving", async () => {
      // Postgres text cannot hold U+0000 and refuses lone surrogates: before the fix one such
      // request made the recorder retry its row forever and the proxy answer 503 to everyone.
      const { runId, token } = await h.newRun();
      const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const rawNul = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"a\u0000b"';
      assert.equal((await send(h.url, "/v1/chat/completions", { headers: auth, body: rawNul })).status, 400);
      const escaped =
        '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[[script:ok]] \\u0000 \\ud800"}]}';
      assert.equal((await send(h.url, "/v1/chat/completions", { headers: auth, body: escaped })).status, 200);
      const ok = await h.openai(token).chat.completions.create(chat("ok"));
      assert.equal(ok.choices.length, 1);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => r.status),
        [400, 200, 200],
      );
      assert.ok(!rows[0]!.requestBody?.includes("\u0000"), "no raw NUL stored");
      assert.ok(rows[0]!.requestBody?.includes("a\\u0000b"), "the NUL is kept, escaped, as evidence");
    });

    it("a client abort mid-stream cancels the upstream and still records the usage seen", async () => {
      // An upstream of its own: the timed-out requests of earlier tests may still answer late.
      const a = await startProxyHarness(kind, {}, { database: h.database });
      try {
        a.upstream.define("slow-stream", { chunks: 30, chunkDelayMs: 30, inputTokens: 12 });
        const { runId, token } = await a.newRun();
        const before = { ...a.upstream.totals.anthropic };
        const openaiBefore = { ...a.upstream.totals.openai };
        const controller = new AbortController();
        const stream = await a
          .openai(token)
          .chat.completions.create({ ...chat("slow-stream"), stream: true }, { signal: controller.signal });
        let seen = 0;
        for await (const chunk of stream) {
          void chunk;
          if (++seen === 3) {
            controller.abort();
            break;
          }
        }
        const anthropicController = new AbortController();
        const anthropicStream = await a.anthropic(token).messages.create(
          {
            model: "claude-haiku-4-5",
            max_tokens: 50,
            messages: [{ role: "user", content: "[[script:slow-stream]]" }],
            stream: true,
          },
          { signal: anthropicController.signal },
        );
        seen = 0;
        for await (const event of anthropicStream) {
          void event;
          if (++seen === 4) {
            anthropicController.abort();
            break;
          }
        }
        // The upstream stops answering once the proxy cancels; had it not been cancelled, it would
        // stream to the end and declare usage before going idle.
        await a.upstream.idle();
        await waitUntil("both aborted calls recorded", async () => (await a.rows(runId)).length === 2);
        assert.equal(
          a.upstream.totals.openai.calls,
          openaiBefore.calls,
          "the OpenAI stream was cancelled before its usage",
        );
        // message_start declares 1 output token (as the real API does); no message_delta followed.
        assert.equal(a.upstream.totals.anthropic.outputTokens - before.outputTokens, 1);
        const rows = await a.rows(runId);
        assert.deepEqual(
          rows.map((r) => [r.status, r.stream, r.clientAborted, r.inputTokens, r.outputTokens]),
          [
            [200, true, true, 0, 0],
            [200, true, true, 12, 1],
          ],
        );
        assert.equal(
          a.upstream.totals.anthropic.inputTokens - before.inputTokens,
          12,
          "the ledger equals what the upstream declared",
        );
      } finally {
        await a.close();
      }
    });

    it("counts calls, tokens, cost, latency, upstream errors on /metrics", async () => {
      const res = await fetch(`${h.url}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      const shown = text
        .split("\n")
        .filter(
          (l) => l.startsWith("airlock_llm_calls_total") || l.startsWith("airlock_llm_upstream_errors_total"),
        )
        .join("\n");
      assert.ok(
        metricValue(text, 'airlock_llm_calls_total{provider="openai",model="gpt-4o-mini",status="200"}') >= 2,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_calls_total{provider="backup",model="gpt-4o-mini",status="200"}') >= 2,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_tokens_total{provider="openai",model="gpt-4o-mini",kind="input"}') >=
          20,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_cost_usd_total{provider="openai",model="gpt-4o-mini"}') > 0,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_upstream_errors_total{provider="openai",reason="http_503"}') >= 1,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_upstream_errors_total{provider="openai",reason="timeout"}') >= 3,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_proxy_latency_seconds_count{provider="openai",stream="false"}') >= 2,
        shown,
      );
      assert.ok(
        metricValue(text, 'airlock_llm_proxy_ttfb_seconds_count{provider="openai",stream="false"}') >= 2,
        shown,
      );
      // What the proxy adds before the upstream sees a call (issue 13 §3): once per forwarded
      // call, and less than the whole call took.
      const overheadCount = metricValue(text, 'airlock_llm_proxy_overhead_seconds_count{provider="openai"}');
      assert.ok(overheadCount >= 2, shown);
      assert.ok(
        metricValue(text, 'airlock_llm_proxy_overhead_seconds_sum{provider="openai"}') <
          metricValue(text, 'airlock_llm_proxy_latency_seconds_sum{provider="openai",stream="false"}'),
        "the overhead is part of the call's latency",
      );
      const health = await fetch(`${h.url}/healthz`);
      assert.deepEqual(await health.json(), { database: "ok", queuedRows: 0 });
    });
  });

  describe(`proxy with its database down on ${kind.name}`, { skip: kind.skip }, () => {
    it("refuses new calls with 503 and never forwards them", async () => {
      const shared = await kind.open();
      // A database of its own, so that closing it cannot disturb other tests.
      const own = shared.kind === "postgres" ? await openDatabase({ url: shared.url, max: 2 }) : shared;
      if (own !== shared) await migrateDatabase(own);
      const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };
      const h = await startProxyHarness(kind, { runCacheTtlMs: 50, clock }, { database: own });
      try {
        h.upstream.define("ok", { chunks: 1, inputTokens: 3 });
        const { runId, token } = await h.newRun();
        const fresh = await h.newRun();
        const openai = h.openai(token);
        await openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "[[script:ok]]" }],
        });
        assert.equal((await h.rows(runId)).length, 1);
        await own.close();
        // Past the cache TTL (50 ms), for which the proxy trusts the run and the database's health.
        clock.skewMs += 1000;
        const forwarded = h.upstream.requests.length;
        for (const t of [token, fresh.token]) {
          const error = await h
            .openai(t)
            .chat.completions.create({
              model: "gpt-4o-mini",
              messages: [{ role: "user", content: "[[script:ok]]" }],
            })
            .then(
              () => assert.fail("served a call it could not record"),
              (e: unknown) => e,
            );
          assert.ok(error instanceof OpenAI.APIError);
          assert.equal(error.status, 503);
          assert.match(error.message, /cannot reach its audit database/);
        }
        const anthropic = await fetch(`${h.url}/v1/messages`, {
          method: "POST",
          headers: { "x-api-key": token, "content-type": "application/json" },
          body: "{}",
        });
        assert.equal(anthropic.status, 503);
        assert.equal(((await anthropic.json()) as { type: string }).type, "error");
        assert.equal(h.upstream.requests.length, forwarded, "nothing was forwarded");
      } finally {
        await h.close();
        if (own !== shared) await shared.close();
      }
    });
  });
}
