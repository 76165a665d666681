import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

const KiB = 1024;

function metricValue(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

/** A chat completion body of exactly `bytes` bytes. */
function chatBody(bytes: number): string {
  const head = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"[[script:ok]] ';
  const tail = '"}]}';
  return head + "x".repeat(bytes - head.length - tail.length) + tail;
}

interface RawRequest {
  socket: Socket;
  /** Everything the proxy wrote before it closed the connection. */
  answer: Promise<{ status: number | undefined; text: string }>;
}

/**
 * An HTTP/1.1 request written by hand, so a test can declare one length and send less,
 * or send a chunked body, and then stall.
 */
function startRequest(
  target: { port: number } | { path: string },
  head: { token: string; contentLength?: number },
  firstBytes: string,
): RawRequest {
  const socket = "port" in target ? connect(target.port, "127.0.0.1") : connect(target.path);
  socket.on("error", () => undefined);
  const received: Buffer[] = [];
  socket.on("data", (d: Buffer) => received.push(d));
  // Not events.once: it rejects on 'error', and a refused connection may well end in EPIPE.
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const answer = closed.then(() => {
    const text = Buffer.concat(received).toString("utf8");
    const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
    return { status: match ? Number(match[1]) : undefined, text };
  });
  const length =
    head.contentLength === undefined ? "Transfer-Encoding: chunked" : `Content-Length: ${head.contentLength}`;
  const body =
    head.contentLength === undefined
      ? `${Buffer.byteLength(firstBytes).toString(16)}\r\n${firstBytes}\r\n`
      : firstBytes;
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: airlock\r\nAuthorization: Bearer ${head.token}\r\n` +
      `Content-Type: application/json\r\n${length}\r\n\r\n${body}`,
  );
  return { socket, answer };
}

const kinds = testDatabaseKinds();
for (const kind of kinds) {
  describe(`proxy host limits on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    const port = () => Number(new URL(h.url).port);
    const bodyBytesHeld = async () =>
      metricValue(await h.registry.metrics(), "airlock_llm_proxy_request_body_bytes");

    /** An upload that declares `bytes`, sends 1 KiB and stalls; once the proxy has admitted it (its claim shows in the gauge). */
    async function startStalledUpload(token: string, bytes: number): Promise<RawRequest> {
      const upload = startRequest(
        { port: port() },
        { token, contentLength: bytes },
        chatBody(bytes).slice(0, KiB),
      );
      await waitUntil("the stalled upload to be admitted", async () => (await bodyBytesHeld()) >= bytes);
      return upload;
    }

    function postChat(token: string, body: string): Promise<Response> {
      return fetch(`${h.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
      });
    }
    before(async () => {
      h = await startProxyHarness(kind, {
        maxBodyBytesPerRun: 64 * KiB,
        timeouts: { bodyIdleMs: 400, headersMs: 800 },
      });
      h.upstream.define("ok", { chunks: 2, inputTokens: 10 });
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
      );
      await h.close();
    });

    it(
      "refuses a declared body larger than the run's allowance with 413, before reading it",
      { timeout: 30_000 },
      async () => {
        const { runId, token } = await h.newRun();
        const forwarded = h.upstream.requests.length;
        // Declares 100 KiB, sends 1 KiB: the answer cannot have waited for the rest.
        const big = startRequest({ port: port() }, { token, contentLength: 100 * KiB }, "x".repeat(KiB));
        const answer = await big.answer;
        assert.equal(answer.status, 413);
        assert.match(answer.text, /larger than the proxy's limit of 65536 bytes/);
        assert.match(answer.text, /"code":"request_too_large"/);
        assert.equal(h.upstream.requests.length, forwarded, "nothing was forwarded");
        const rows = await h.rows(runId);
        assert.deepEqual(
          rows.map((r) => [r.status, r.refusal]),
          [[413, "too_large"]],
        );
      },
    );

    it(
      "answers 429 while other bodies of the run hold its allowance, and 408 to a stalled upload",
      { timeout: 30_000 },
      async () => {
        const { runId, token } = await h.newRun();
        const openai = h.openai(token);
        const before = metricValue(
          await h.registry.metrics(),
          'airlock_llm_refusals_total{reason="body_timeout"}',
        );
        // Claims 40 of the run's 64 KiB, sends 1 KiB, then stalls.
        const stalled = await startStalledUpload(token, 40 * KiB);
        const second = await postChat(token, chatBody(40 * KiB));
        assert.equal(second.status, 429);
        const refusal = (await second.json()) as { error: { code: string; message: string } };
        assert.equal(refusal.error.code, "rate_limit_exceeded");
        assert.match(refusal.error.message, /hold 40960 bytes of request bodies.*allowance of 65536 bytes/);
        // A body that fits beside it is served.
        const small = await openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: "[[script:ok]] small" }],
        });
        assert.equal(small.choices.length, 1);

        // The stalled upload is ended with 408 after 400 ms without a byte, and counted.
        const timedOut = await stalled.answer;
        assert.equal(timedOut.status, 408);
        assert.match(timedOut.text, /no bytes of the request body arrived for 400 ms/);
        const metrics = await h.registry.metrics();
        assert.equal(metricValue(metrics, 'airlock_llm_refusals_total{reason="body_timeout"}'), before + 1);

        // Its claim is released: the 40 KiB request now passes.
        const again = await postChat(token, chatBody(40 * KiB));
        assert.equal(again.status, 200);
        await again.text();
        const rows = await h.rows(runId);
        assert.deepEqual(rows.map((r) => [r.status, r.refusal]).sort(), [
          [200, null],
          [200, null],
          [408, "timeout"],
          [429, "rate_limit"],
        ]);
      },
    );

    it(
      "serves a chunked body alone, and refuses one that outgrows the largest body",
      { timeout: 30_000 },
      async () => {
        const { runId, token } = await h.newRun();
        const body = chatBody(20 * KiB);
        const chunked = startRequest({ port: port() }, { token }, body);
        chunked.socket.write("0\r\n\r\n");
        await once(chunked.socket, "data");
        chunked.socket.destroy();
        const served = await chunked.answer;
        assert.equal(served.status, 200);

        const tooBig = startRequest({ port: port() }, { token }, "x".repeat(40 * KiB));
        tooBig.socket.write(`${(30 * KiB).toString(16)}\r\n${"x".repeat(30 * KiB)}\r\n`);
        const refused = await tooBig.answer;
        assert.equal(refused.status, 413);
        const rows = await h.rows(runId);
        assert.deepEqual(
          rows.map((r) => r.status),
          [200, 413],
        );
      },
    );

    it(
      "records a client that leaves mid-upload as aborted, and frees its claim",
      { timeout: 30_000 },
      async () => {
        const { runId, token } = await h.newRun();
        const leaving = await startStalledUpload(token, 60 * KiB);
        leaving.socket.destroy();
        await waitUntil("the claim to be released", async () => (await bodyBytesHeld()) === 0);
        const rows = await h.rows(runId);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, 499);
        assert.equal(rows[0]!.clientAborted, true);
        assert.equal(rows[0]!.refusal, null);
        assert.match(rows[0]!.error ?? "", /client aborted while sending the request body/);
      },
    );

    it(
      "closes a connection that sends no request within the header timeout, and counts it",
      { timeout: 30_000 },
      async () => {
        const event = 'airlock_llm_proxy_connection_events_total{event="request_timeout"}';
        const before = metricValue(await h.registry.metrics(), event);
        const idle = connect(port(), "127.0.0.1");
        idle.on("error", () => undefined);
        const received: Buffer[] = [];
        idle.on("data", (d: Buffer) => received.push(d));
        await once(idle, "close");
        assert.match(Buffer.concat(received).toString("utf8"), /^HTTP\/1\.1 408/);
        assert.equal(metricValue(await h.registry.metrics(), event), before + 1);
      },
    );
  });
}

describe("connections per served proxy", () => {
  let dir: string;
  let h: ProxyHarness;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-conns-"));
    h = await startProxyHarness(kinds[0]!);
    h.upstream.define("ok", { chunks: 2, inputTokens: 10 });
  });
  after(async () => {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "closes connections past maxConnections at once, and serves again when one ends",
    { timeout: 30_000 },
    async () => {
      const { runId, token } = await h.newRun();
      const socketPath = join(dir, "llm.sock");
      const served = await h.serveOnSocket(socketPath, runId, { maxConnections: 4 });
      try {
        const held: Socket[] = [];
        for (let i = 0; i < 4; i++) {
          const socket = connect(socketPath);
          socket.on("error", () => undefined);
          await once(socket, "connect");
          held.push(socket);
        }
        // The fifth is closed by the proxy while the four (30 s header timeout) stay open.
        const extra = startRequest({ path: socketPath }, { token, contentLength: 0 }, "");
        const answer = await extra.answer;
        assert.equal(answer.status, undefined, "the extra connection is closed, not answered or queued");
        assert.ok(held.every((s) => !s.destroyed && s.readyState === "open"));
        const metrics = await served.handler.metricsRegistry.metrics();
        assert.equal(metricValue(metrics, 'airlock_llm_proxy_connection_events_total{event="dropped"}'), 1);

        held.pop()!.destroy();
        // Once the server has seen that close, a new connection is served.
        let status: number | undefined;
        for (let tries = 0; tries < 100 && status !== 200; tries++) {
          const retry = startRequest(
            { path: socketPath },
            { token, contentLength: chatBody(KiB).length },
            chatBody(KiB),
          );
          retry.socket.once("data", () => retry.socket.end());
          status = (await retry.answer).status;
        }
        assert.equal(status, 200);
        for (const socket of held) socket.destroy();
      } finally {
        await served.close();
      }
    },
  );
});
