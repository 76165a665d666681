import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

interface Answer {
  status: number | "upgraded" | "error";
  body: string;
  ms: number;
}

/** One raw request; any answer (or error) within 5 s, else a hang, which fails the test. */
function send(url: string, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.request(`${url}${path}`, { method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - started }));
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      resolve({ status: "upgraded", body: "", ms: Date.now() - started });
    });
    req.on("error", (error) => resolve({ status: "error", body: error.message, ms: Date.now() - started }));
    req.setTimeout(5_000, () => {
      req.destroy();
      reject(new Error(`${method} ${path} hung: no answer within 5 s`));
    });
    req.end();
  });
}

// Issue 12: what Claude Code and Codex send besides their model calls, answered at once.
describe("the proxy and the agent CLIs' other requests", () => {
  let h: ProxyHarness;
  let token: string;
  const kind = testDatabaseKinds()[0]!;

  before(async () => {
    h = await startProxyHarness(kind);
    ({ token } = await h.newRun());
  });

  after(async () => {
    await h?.close();
  });

  it("answers Claude Code's HEAD /api/hello probe with an empty 200, token or not, forwarding nothing", async () => {
    const variants: Record<string, string>[] = [{}, { "x-api-key": token }];
    for (const headers of variants) {
      const answer = await send(h.url, "HEAD", "/api/hello", headers);
      assert.deepEqual({ status: answer.status, body: answer.body }, { status: 200, body: "" });
    }
    assert.equal(h.upstream.requests.length, 0);
  });

  it("refuses a Responses WebSocket upgrade and unknown paths at once, in the provider's error shape", async () => {
    const upgrade = await send(h.url, "GET", "/v1/responses", {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      authorization: `Bearer ${token}`,
    });
    assert.equal(upgrade.status, 404);
    assert.match(upgrade.body, /Airlock's proxy has no route GET \/v1\/responses/);
    for (const path of ["/v1/responses/compact", "/v1/realtime", "/api/oauth/profile"]) {
      const answer = await send(h.url, "POST", path, { authorization: `Bearer ${token}` });
      assert.equal(answer.status, 404, path);
      assert.match(answer.body, /"error"/);
    }
    assert.equal(h.upstream.requests.length, 0);
  });
});
