import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startTurnScriptedUpstream } from "./start-turn-scripted-upstream.ts";

describe("the per-turn script picker in front of the scripted upstream", () => {
  let upstream: ScriptedUpstream;
  let turns: Awaited<ReturnType<typeof startTurnScriptedUpstream>>;

  before(async () => {
    upstream = await startScriptedUpstream();
    turns = await startTurnScriptedUpstream(upstream.url);
  });

  after(async () => {
    await turns?.close();
    await upstream?.close();
  });

  const ask = (script: string, signal?: AbortSignal) =>
    fetch(`${turns.url}/v1/messages`, {
      method: "POST",
      signal,
      headers: {
        "x-api-key": scriptedUpstreamDefaults.anthropicApiKey,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "claude-haiku-4-5",
        max_tokens: 50,
        stream: true,
        messages: [{ role: "user", content: `go [[script:${script}]]` }],
      }),
    });

  it("names the turn in the marker and passes a whole stream through", async () => {
    upstream.define("whole.0", { chunks: 3, inputTokens: 5 });
    const res = await ask("whole");
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /event: message_stop/);
    assert.deepEqual(turns.turns.slice(-1), [0]);
  });

  // The chaos benchmark found this: with `pipe`, the cut never reached the proxy, whose call
  // (and the agent's run) then waited for its idle timeout.
  it("passes a stream the upstream cuts mid-way on as a cut, not as a response that never ends", async () => {
    upstream.define("cut.0", {
      chunks: 6,
      chunkDelayMs: 20,
      inputTokens: 5,
      faults: [{ kind: "reset-mid-stream", afterChunks: 2 }],
    });
    const giveUp = new AbortController();
    const res = await ask("cut", giveUp.signal);
    assert.equal(res.status, 200);
    const outcome = await Promise.race([
      res.text().then(
        () => "ended",
        () => (giveUp.signal.aborted ? "still open after 10 s" : "cut"),
      ),
      new Promise<string>((resolve) =>
        setTimeout(() => {
          giveUp.abort();
          resolve("still open after 10 s");
        }, 10_000).unref(),
      ),
    ]);
    assert.equal(outcome, "cut");
  });

  // The chaos benchmark crashed on this: a client gone before the upstream's headers came
  // made `pipeline` throw ERR_STREAM_UNABLE_TO_PIPE out of the response callback.
  it("lets a client hang up before the answer starts, and keeps serving", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    upstream.define("gone.0", { chunks: 2, inputTokens: 5, holdFirstByte: held });
    upstream.define("after.0", { chunks: 2, inputTokens: 5 });
    const seen = upstream.requests.length;
    const before = await turns.openConnections();
    // A connection of its own (no pool), so its close is the one waited for.
    const client = http.request(`${turns.url}/v1/messages`, {
      method: "POST",
      agent: false,
      headers: {
        "x-api-key": scriptedUpstreamDefaults.anthropicApiKey,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
      },
    });
    client.on("error", () => {});
    client.end(
      JSON.stringify({
        model: "claude-haiku-4-5",
        max_tokens: 50,
        stream: true,
        messages: [{ role: "user", content: "go [[script:gone]]" }],
      }),
    );
    await waitUntil("the held request reached the upstream", async () => upstream.requests.length > seen);
    client.destroy();
    await waitUntil("the hang-up seen", async () => (await turns.openConnections()) === before);
    release();
    await upstream.idle();
    const next = await ask("after");
    assert.equal(next.status, 200);
    assert.match(await next.text(), /event: message_stop/);
  });
});
