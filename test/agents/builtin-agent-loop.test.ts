import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { runAgent } from "../../agent-images/builtin/agent/run-agent.ts";
import { defaultRunCommandLimits } from "../../agent-images/builtin/agent/run-command.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startTurnScriptedUpstream } from "./start-turn-scripted-upstream.ts";

/** The agent's loop in-process against the scripted upstream: error handling without Docker. */
describe("builtin agent loop", () => {
  let upstream: ScriptedUpstream;
  let turns: Awaited<ReturnType<typeof startTurnScriptedUpstream>>;
  let root: string;

  before(async () => {
    upstream = await startScriptedUpstream();
    turns = await startTurnScriptedUpstream(upstream.url);
    root = await mkdtemp(join(tmpdir(), "airlock-agent-loop-"));
  });
  after(async () => {
    await turns.close();
    await rm(root, { recursive: true, force: true });
    // Last: it throws when the upstream saw a request nobody expected.
    await upstream.close();
  });

  async function run(
    script: string,
    options: { apiKey?: string; maxSteps?: number; signal?: AbortSignal } = {},
  ) {
    const log: string[] = [];
    const result = await runAgent({
      client: new OpenAI({
        baseURL: `${turns.url}/v1`,
        apiKey: options.apiKey ?? scriptedUpstreamDefaults.openaiApiKey,
        maxRetries: 0,
      }),
      model: "gpt-4.1-mini",
      task: `do it [[script:${script}]]`,
      maxSteps: options.maxSteps ?? 10,
      llmRetries: 2,
      retryBaseDelayMs: 10,
      tools: {
        workspaceRoot: root,
        bridgeUrl: "http://127.0.0.1:9",
        apiKey: "unused",
        runCommandLimits: defaultRunCommandLimits,
      },
      log: (line) => log.push(line),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { result, log };
  }

  it("answers malformed tool arguments with an error result and carries on", async () => {
    upstream.define("bad.0", { toolCall: { name: "write_file", arguments: "{not json" } });
    upstream.define("bad.1", { toolCall: { name: "write_file", arguments: "null" } });
    upstream.define("bad.2", { toolCall: { name: "finish", arguments: JSON.stringify({ summary: "ok" }) } });
    const { result } = await run("bad");
    assert.equal(result.outcome, "finished");
    assert.equal(result.exitCode, 0);
    const last = upstream.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    const toolResults = last.messages.filter((m) => m.role === "tool").map((m) => m.content);
    assert.deepEqual(toolResults, [
      "error: the arguments of write_file must be a JSON object",
      "error: the arguments of write_file must be a JSON object",
    ]);
  });

  it("reminds the model once after a prose answer, then takes a second one as the summary", async () => {
    upstream.define("prose.0", { text: "I think it is done." });
    upstream.define("prose.1", { text: "All done: nothing needed changing." });
    const { result } = await run("prose");
    assert.equal(result.outcome, "finished");
    assert.equal(result.summary, "All done: nothing needed changing.");
    assert.equal(
      await readFile(join(root, ".airlock/summary.md"), "utf8"),
      "All done: nothing needed changing.\n",
    );
    const second = upstream.requests.at(-1)?.body as { messages: { role: string; content: string }[] };
    assert.match(
      second.messages.at(-1)!.content,
      /^Continue with the tools\. When the task is done, call finish/,
    );
  });

  it("retries a server fault, then succeeds", async () => {
    upstream.define("flaky.0", {
      faults: [{ kind: "status", status: 503 }],
      toolCall: { name: "finish", arguments: JSON.stringify({ summary: "after a retry" }) },
    });
    const before = upstream.requests.length;
    const { result, log } = await run("flaky");
    assert.equal(result.outcome, "finished");
    assert.equal(upstream.requests.length - before, 2);
    assert.ok(
      log.some((l) => /^LLM call failed, retrying in 0\.0 s: LLM API error 503/.test(l)),
      log.join("\n"),
    );
  });

  it("exits 2 on a refused key, without retrying, and never logs the key", async () => {
    await writeFile(join(root, "keep.txt"), "x");
    const before = upstream.requests.length;
    const { result, log } = await run("any", { apiKey: "sk-wrong-key-canary" });
    assert.equal(result.outcome, "api_error");
    assert.equal(result.exitCode, 2);
    assert.equal(upstream.requests.length - before, 1);
    // Provoked on purpose: the stand-in refused the wrong key, which close() would otherwise report.
    assert.deepEqual(
      upstream.takeUnexpected().map((r) => r.problem),
      ["missing or wrong openai credentials"],
    );
    assert.match(log.join("\n"), /step 1\/10: LLM API error 401/);
    assert.ok(!log.join("\n").includes("sk-wrong-key-canary"));
    assert.match(
      result.summary,
      /stopped before finishing: the LLM endpoint refused the call \(LLM API error 401/,
    );
  });

  it("stops mid-call when told to (SIGTERM), exit 143, with the changes so far in its summary", async () => {
    upstream.define("stop.0", {
      toolCall: { name: "write_file", arguments: JSON.stringify({ path: "./a/../b.txt", content: "b" }) },
    });
    // The second call is held until the test ends: the stop certainly lands mid-call.
    let release: () => void = () => undefined;
    upstream.define("stop.1", { holdFirstByte: new Promise<void>((r) => (release = r)), text: "too late" });
    const controller = new AbortController();
    const running = run("stop", { signal: controller.signal });
    await waitUntil("the agent's second call", () => upstream.requests.some((r) => r.script === "stop.1"));
    const stoppedAt = Date.now();
    controller.abort();
    const { result } = await running;
    release();
    // The held call never answers: any prompt end is the stop's.
    assert.ok(Date.now() - stoppedAt < 15_000, `took ${Date.now() - stoppedAt} ms to stop`);
    assert.equal(result.outcome, "stopped");
    assert.equal(result.exitCode, 143);
    assert.deepEqual(result.changedFiles, ["b.txt"]);
    assert.match(result.summary, /stopped before finishing: it was stopped \(SIGTERM/);
    assert.match(result.summary, /Steps taken: 1\./);
  });
});
