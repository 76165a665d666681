import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../core/logger.ts";
import { newRunId } from "../../core/ids.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { decideRunOutcome } from "../../runner/run/decide-run-outcome.ts";
import { runSandboxed } from "../../runner/sandbox/run-sandboxed.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";
import {
  assertLedgerMatchesUpstream,
  assertNoNetworkAttempts,
  runGreetingTask,
} from "./assert-cli-agent-run.ts";
import { startCliAgentHarness, type CliAgentHarness } from "./start-cli-agent-harness.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });

/** A scripted Anthropic answer that is one tool_use of OpenClaw's own tools. */
function tool(name: string, input: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(input) } };
}

interface AnthropicBody {
  model: string;
  tools: { name: string }[];
  messages: { role: string; content: string | { type: string; text?: string; content?: unknown }[] }[];
}

describe("openclaw: OpenClaw in its image, through the real proxy and relay", () => {
  let h: CliAgentHarness;

  before(async () => {
    h = await startCliAgentHarness("openclaw");
  });

  after(async () => {
    await h?.close();
  });

  it("is built on the base image, its install finished, every file root-owned, no key in it", async () => {
    assert.match(h.built.ref, /^airlock\/openclaw:[0-9a-f]{64}$/);
    assert.equal(h.built.image.labels["airlock.agent"], "openclaw");
    assert.equal(h.built.image.labels["airlock.base-image-id"], h.built.baseImage.id);
    const out = createTextSink();
    const probe = await runSandboxed({
      runtime,
      logger,
      image: h.built.ref,
      argv: [
        "sh",
        "-c",
        "openclaw --version; find /opt/openclaw /opt/airlock-agent /usr/local/bin ! -user 0 | head -5; " +
          "find /opt/openclaw /opt/airlock-agent -perm /022 ! -type l | head -5; " +
          "ls /opt/openclaw/node_modules/openclaw/.openclaw-lifecycle-pending 2>/dev/null; env | grep -ci -e key -e token",
      ],
      ceiling: { memoryMb: 2048, cpus: 1, pids: 128, timeoutS: 120 },
      runId: newRunId(),
      runnerId: `test-openclaw-${process.pid}`,
      stdout: out,
    });
    // grep -c exits 1 when it counts 0, which is the answer wanted here.
    assert.equal(probe.exitCode, 1, out.text());
    assert.match(out.text(), /^OpenClaw 2026\.9\.6 \([0-9a-f]+\)\n0\n$/);
  });

  it("writes, edits and runs a command with write/edit/exec; the branch, ledger and network say so", async () => {
    h.upstream.define("oc.0", tool("write", { path: "notes/hello.txt", content: "hello from openclaw\n" }));
    h.upstream.define(
      "oc.1",
      tool("edit", { path: "src/greet.js", edits: [{ oldText: "Hello", newText: "Howdy" }] }),
    );
    h.upstream.define(
      "oc.2",
      tool("exec", { command: "node src/greet.js > greeting.txt && id -u", title: "run it" }),
    );
    h.upstream.define("oc.3", { text: "Added notes/hello.txt and changed the greeting to Howdy." });
    const before = { ...h.upstream.totals.anthropic };
    const seen = h.upstream.requests.length;

    const r = await runGreetingTask(h, "oc", "hello from openclaw\n");
    const requests = h.upstream.requests.slice(seen);
    assert.deepEqual(
      requests.map((q) => `${q.method} ${q.path}${q.query} ${q.script} ${(q.body as AnthropicBody).model}`),
      [0, 1, 2, 3].map((t) => `POST /v1/messages oc.${t} claude-sonnet-4-5`),
    );
    const last = requests.at(-1)!.body as AnthropicBody;
    const results = last.messages.flatMap((m) =>
      Array.isArray(m.content) ? m.content.filter((c) => c.type === "tool_result") : [],
    );
    assert.equal(results.length, 3);
    assert.match(JSON.stringify(results[2]!.content), /1001/);
    assertLedgerMatchesUpstream(r.calls, before, h.upstream.totals.anthropic, 4);
    assertNoNetworkAttempts(r.net);
    assert.ok(r.wallMs < 120_000, `the scripted task took ${r.wallMs} ms`);
    process.stderr.write(
      `openclaw figures: image ${(h.built.image.sizeBytes / 1e6).toFixed(0)} MB, build ${h.buildMs} ms, ` +
        `first LLM call ${r.firstCallMs} ms after start, task ${r.wallMs} ms\n`,
    );
  });

  it("a spent budget ends it as budget_exhausted without a retry storm, the refusal the proxy's own", async () => {
    h.upstream.define("ocbudget.0", {
      ...tool("write", { path: "partial.txt", content: "half\n" }),
      inputTokens: 60_000,
    });
    h.upstream.define("ocbudget.1", { text: "never reached" });
    const before = { ...h.upstream.totals.anthropic };
    const seen = h.upstream.requests.length;
    const started = Date.now();
    const r = await h.runTask({
      files: { "README.md": "# demo\n" },
      prompt: "Spend it. [[script:ocbudget]]",
      budgetTokens: 40_000,
    });
    assert.equal(r.result.outcome, "budget_exhausted", `${r.result.reason}\n${r.stderr}`);
    assert.equal(h.upstream.requests.length - seen, 1, "the budget refusal must come from the proxy");
    // OpenClaw retries a rate limit up to 10 times over minutes; the proxy's "out of budget"
    // reads to it as a billing stop: one refusal (or two), not ten.
    const refusals = r.calls.filter((c) => c.refusal === "budget").length;
    assert.ok(refusals >= 1 && refusals <= 2, `${refusals} budget refusals`);
    assert.match(r.stdout, /the run's LLM budget is exhausted/);
    assertLedgerMatchesUpstream(
      r.calls.filter((c) => c.refusal === null),
      before,
      h.upstream.totals.anthropic,
      1,
    );
    // Most of it is OpenClaw's own start (15-20 s here); the refusal count above is the guard.
    assert.ok(Date.now() - started < 90_000, `a spent budget took ${Date.now() - started} ms`);
  });

  it("a refused (revoked) token ends it, with nothing sent upstream", async () => {
    const started = Date.now();
    const r = await h.runSealed({ prompt: "Do something.", timeoutS: 180, refusedToken: true });
    const ms = Date.now() - started;
    assert.equal(r.sandbox.reason, "exited", r.stderr);
    assert.equal(r.requests, 0);
    assert.equal(decideRunOutcome(r.sandbox, [], h.agent).outcome, "failed");
    assert.equal(r.sandbox.exitCode, 2, r.stderr);
    assert.match(r.stdout, /the LLM endpoint refused a call \(.*401/);
    assert.ok(ms < 90_000, `a refused token took ${ms} ms to end the run`);
  });

  it("on resume, runs a new turn in the same state directory, told the task and the decision", async () => {
    h.upstream.define("ocresume.0", { text: "Asked for jq; waiting for a decision." });
    const resume = JSON.stringify({
      message: "Your request for apt:jq was denied: use node instead.",
      decisions: [{ kind: "apt", name: "jq", state: "denied", by: "maintainer", reason: "use node" }],
    });
    const seen = h.upstream.requests.length;
    const r = await h.runTask({
      files: { "README.md": "# demo\n" },
      prompt: "Parse the output. [[script:ocresume]]",
      // The runner's state folder (/airlock-state, AIRLOCK_STATE_DIR); the note written as the
      // runner writes it on resume, then the wrapper run again in the same container.
      after:
        `printf '%s' '${resume}' > "$AIRLOCK_STATE_DIR/resume.json" && ` +
        "AIRLOCK_RESUME=1 node /opt/airlock-agent/agent/main.ts",
    });
    // `agent exec` cannot continue a session: the second turn starts anew (turn 0 again),
    // with the task and the decision in its prompt.
    const requests = h.upstream.requests.slice(seen);
    assert.deepEqual(
      requests.map((q) => q.script),
      ["ocresume.0", "ocresume.0"],
      r.stderr,
    );
    const resumed = JSON.stringify((requests[1]!.body as AnthropicBody).messages);
    assert.match(resumed, /Parse the output\./);
    assert.match(
      resumed,
      /Your request for apt:jq was denied: use node instead\.\\n\\nDecisions:\\n- apt:jq: denied by maintainer \(use node\)/,
    );
    assert.match(r.stderr, /airlock-openclaw: a new turn after the decision/);
  });
});
