import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { setRunState } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { scriptedUpstreamDefaults } from "../stand-ins/scripted-llm-upstream.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { createCapturingLogger } from "../helpers/create-capturing-logger.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";
import { postChatOverSocket } from "./post-chat-over-socket.ts";

async function post(url: string, path: string, headers: Record<string, string>, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

for (const kind of testDatabaseKinds()) {
  describe(`proxy auth on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    // The proxy's clock, which a test moves forward instead of sleeping.
    const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };
    before(async () => {
      h = await startProxyHarness(kind, { clock });
      h.upstream.define("hello", { chunks: 2, inputTokens: 10 });
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
        "the upstream never saw a run token or a bad request",
      );
      await h.close();
    });

    const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "[[script:hello]]" }] };
    const message = {
      model: "claude-haiku-4-5",
      max_tokens: 50,
      messages: [{ role: "user", content: "[[script:hello]]" }],
    };

    it("accepts the token as Bearer or x-api-key on both APIs, and forwards only the real key", async () => {
      const { token } = await h.newRun();
      const before = h.upstream.requests.length;
      assert.equal(
        (await post(h.url, "/v1/chat/completions", { authorization: `Bearer ${token}` }, chat)).status,
        200,
      );
      assert.equal((await post(h.url, "/v1/chat/completions", { "x-api-key": token }, chat)).status, 200);
      assert.equal(
        (
          await post(
            h.url,
            "/v1/messages",
            { "x-api-key": token, "anthropic-version": "2023-06-01" },
            message,
          )
        ).status,
        200,
      );
      assert.equal(
        (await post(h.url, "/v1/messages", { authorization: `Bearer ${token}` }, message)).status,
        200,
      );
      const seen = h.upstream.requests.slice(before);
      assert.equal(seen.length, 4);
      for (const r of seen) {
        const credentials = [r.headers.authorization, r.headers["x-api-key"]].filter((v) => v !== undefined);
        assert.equal(credentials.length, 1);
        assert.ok(!JSON.stringify(r.headers).includes(token), "the run token never reaches the provider");
      }
    });

    it("refuses missing, forged, tampered, expired, unknown-run and stale-attempt tokens with 401 in each provider's shape", async () => {
      const { runId, token } = await h.newRun();
      const exp = Math.floor(Date.now() / 1000) + 600;
      const cases: [string, string | undefined, RegExp][] = [
        ["missing", undefined, /missing run token/],
        [
          "forged",
          mintRunToken({
            runId,
            attempt: 0,
            expiresAt: exp,
            secret: "another-secret-0123456789abcdefghijkl",
          }),
          /invalid run token/,
        ],
        ["tampered", token.replace(`${runId}.0.`, `${runId}.1.`), /invalid run token/],
        [
          "expired",
          mintRunToken({
            runId,
            attempt: 0,
            expiresAt: Math.floor(Date.now() / 1000) - 1,
            secret: h.tokenSecret,
          }),
          /expired/,
        ],
        [
          "unknown run",
          mintRunToken({ runId: newRunId(), attempt: 0, expiresAt: exp, secret: h.tokenSecret }),
          /unknown/,
        ],
        [
          "stale attempt",
          mintRunToken({ runId, attempt: 3, expiresAt: exp, secret: h.tokenSecret }),
          /another attempt/,
        ],
        ["garbage", "sk-not-a-run-token", /invalid run token/],
      ];
      for (const [name, bad, why] of cases) {
        const auth: Record<string, string> = bad === undefined ? {} : { authorization: `Bearer ${bad}` };
        const oa = await post(h.url, "/v1/chat/completions", auth, chat);
        assert.equal(oa.status, 401, name);
        const oaBody = JSON.parse(oa.text) as {
          error: { message: string; type: string; param: null; code: string };
        };
        assert.deepEqual(Object.keys(oaBody.error).sort(), ["code", "message", "param", "type"], name);
        assert.equal(oaBody.error.code, "invalid_api_key", name);
        assert.match(oaBody.error.message, why, name);
        const an = await post(h.url, "/v1/messages", bad === undefined ? {} : { "x-api-key": bad }, message);
        assert.equal(an.status, 401, name);
        const anBody = JSON.parse(an.text) as { type: string; error: { type: string; message: string } };
        assert.equal(anBody.type, "error");
        assert.equal(anBody.error.type, "authentication_error", name);
      }
      // The SDKs map these to their own typed errors.
      await assert.rejects(
        h.openai("forged").chat.completions.create({ model: "gpt-4o-mini", messages: [] }),
        OpenAI.AuthenticationError,
      );
      await assert.rejects(
        h.anthropic("forged").messages.create({ model: "claude-haiku-4-5", max_tokens: 1, messages: [] }),
        Anthropic.AuthenticationError,
      );
      const rows = await h.rows(runId);
      assert.equal(rows.length, 0, "unauthenticated requests reach neither the upstream nor the ledger");
    });

    it("refuses a run in a terminal state with 403", async () => {
      const { runId, token } = await h.newRun();
      await setRunState(h.database.db, runId, "cancelled", { reason: "test" });
      // The proxy trusts a run's state for at most its cache TTL (250 ms by default): move past it.
      clock.skewMs += 1000;
      const res = await post(h.url, "/v1/chat/completions", { authorization: `Bearer ${token}` }, chat);
      assert.equal(res.status, 403);
      assert.match(res.text, /has finished \(cancelled\)/);
      const rows = await h.rows(runId);
      assert.deepEqual(
        rows.map((r) => r.status),
        [403],
      );
    });

    it("never lets the real key or the run token reach a response, a log line or a stored body", async () => {
      const { runId, token } = await h.newRun();
      const pasted = {
        model: "gpt-4o-mini",
        messages: [
          {
            role: "user",
            content: `[[script:hello]] my token is ${token}, the key ${scriptedUpstreamDefaults.openaiApiKey}, and\n-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\nAuthorization: Bearer abcdefghijklmnopqrstuvwxyz012345`,
          },
        ],
      };
      const res = await post(h.url, "/v1/chat/completions", { authorization: `Bearer ${token}` }, pasted);
      assert.equal(res.status, 200);
      const [row] = await h.rows(runId);
      const stored = `${row?.requestBody ?? ""}${row?.responseBody ?? ""}`;
      assert.match(stored, /\[REDACTED\]/);
      for (const secret of [
        token,
        scriptedUpstreamDefaults.openaiApiKey,
        "MIIEabc",
        "abcdefghijklmnopqrstuvwxyz012345",
      ]) {
        assert.ok(!stored.includes(secret), `stored bodies do not contain ${secret.slice(0, 6)}…`);
      }
      const logs = h.logLines.join("");
      for (const key of [
        scriptedUpstreamDefaults.openaiApiKey,
        scriptedUpstreamDefaults.anthropicApiKey,
        token,
      ]) {
        assert.ok(!logs.includes(key), "no log line carries a key or token");
      }
    });

    it("redacts the real key from an upstream error that echoes it", async () => {
      const realKey = "sk-echoed-real-key-0123456789abcdef";
      const echo: Server = createServer((req, res) => {
        const body = JSON.stringify({
          error: {
            message: `Incorrect API key provided: ${String(req.headers.authorization)}`,
            type: "invalid_request_error",
            param: null,
            code: "invalid_api_key",
          },
        });
        res.writeHead(401, { "content-type": "application/json", "x-request-id": "req_1" });
        res.end(body);
      });
      await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
      const { logger, lines } = createCapturingLogger();
      const echoHarness = await startProxyHarness(
        kind,
        {
          upstreams: {
            openai: {
              baseUrl: `http://127.0.0.1:${(echo.address() as AddressInfo).port}/v1`,
              apiKey: realKey,
            },
          },
          logger,
        },
        { database: h.database },
      );
      try {
        const { runId, token } = await echoHarness.newRun();
        const res = await post(
          echoHarness.url,
          "/v1/chat/completions",
          { authorization: `Bearer ${token}` },
          chat,
        );
        assert.equal(res.status, 401);
        assert.equal(res.headers.get("x-request-id"), "req_1");
        assert.ok(!res.text.includes(realKey));
        assert.match(res.text, /\[REDACTED\]/);
        assert.ok(![...res.headers.values()].join(" ").includes(realKey));
        const [row] = await echoHarness.rows(runId);
        assert.ok(!`${row?.error}${row?.responseBody}`.includes(realKey));
        assert.ok(!lines.join("").includes(realKey));
      } finally {
        await echoHarness.close();
        await new Promise<void>((resolve) => echo.close(() => resolve()));
      }
    });

    it("serves one run on a unix socket: mode 0666, tokens for other runs refused", async () => {
      const dir = await mkdtemp(join(tmpdir(), "airlock-proxy-"));
      const socketPath = join(dir, "llm.sock");
      const own = await h.newRun();
      const other = await h.newRun();
      const served = await h.serveOnSocket(socketPath, own.runId);
      try {
        assert.equal((await stat(socketPath)).mode & 0o777, 0o666);
        const ok = await postChatOverSocket(socketPath, own.token, "hello");
        assert.equal(ok.status, 200);
        assert.match(ok.body, /"prompt_tokens":10/);
        const refused = await postChatOverSocket(socketPath, other.token, "hello");
        assert.equal(refused.status, 401);
        assert.match(refused.body, /names another run/);
        await served.flush();
        assert.equal((await h.rows(own.runId)).length, 1);
        assert.equal((await h.rows(other.runId)).length, 0);
      } finally {
        await served.close();
        await rm(dir, { recursive: true, force: true });
      }
      await assert.rejects(stat(socketPath), "the socket file is removed on close");
    });
  });
}
