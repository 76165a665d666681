import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decideRunOutcome } from "../../runner/run/decide-run-outcome.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { runSandboxed } from "../../runner/sandbox/run-sandboxed.ts";
import { newRunId } from "../../core/ids.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";
import { git } from "../helpers/git-repo.ts";
import {
  assertLedgerMatchesUpstream,
  assertNoNetworkAttempts,
  assertRevokedTokenEndsRun,
  assertSpentBudgetEndsRun,
  runGreetingTask,
} from "./assert-cli-agent-run.ts";
import { startCliAgentHarness, type CliAgentHarness } from "./start-cli-agent-harness.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });

/** A scripted Anthropic answer that is one tool_use of Claude Code's own tools. */
function tool(name: string, input: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(input) } };
}

interface AnthropicBody {
  model: string;
  messages: { role: string; content: string | { type: string; text?: string; content?: unknown }[] }[];
}

describe("claude-code: Claude Code in its image, through the real proxy and relay", () => {
  let h: CliAgentHarness;

  before(async () => {
    h = await startCliAgentHarness("claude-code");
  });

  after(async () => {
    await h?.close();
  });

  it("is built on the base image, pinned, every file root-owned, no key in it", async () => {
    assert.match(h.built.ref, /^airlock\/claude-code:[0-9a-f]{64}$/);
    assert.equal(h.built.image.labels["airlock.agent"], "claude-code");
    assert.equal(h.built.image.labels["airlock.agent-version"], "2.1.332");
    assert.equal(h.built.image.labels["airlock.base-image-id"], h.built.baseImage.id);
    const out = createTextSink();
    const probe = await runSandboxed({
      runtime,
      logger,
      image: h.built.ref,
      argv: [
        "sh",
        "-c",
        "claude --version; find /opt/claude-code /opt/airlock-agent /usr/local/bin ! -user 0 | head -5; " +
          "find /opt/claude-code /opt/airlock-agent -perm /022 ! -type l | head -5; env | grep -ci -e key -e token",
      ],
      ceiling: { memoryMb: 1024, cpus: 1, pids: 64, timeoutS: 60 },
      runId: newRunId(),
      runnerId: `test-claude-code-${process.pid}`,
      stdout: out,
    });
    // grep -c exits 1 when it counts 0, which is the answer wanted here.
    assert.equal(probe.exitCode, 1, out.text());
    assert.equal(out.text(), "2.1.332 (Claude Code)\n0\n");
  });

  it("writes, edits and runs a command with Write/Read/Edit/Bash; the branch, ledger and network say so", async () => {
    h.upstream.define(
      "cc.0",
      tool("Write", { file_path: "/workspace/notes/hello.txt", content: "hello from claude\n" }),
    );
    h.upstream.define("cc.1", tool("Read", { file_path: "/workspace/src/greet.js" }));
    h.upstream.define(
      "cc.2",
      tool("Edit", { file_path: "/workspace/src/greet.js", old_string: "Hello", new_string: "Howdy" }),
    );
    h.upstream.define(
      "cc.3",
      tool("Bash", { command: "node src/greet.js > greeting.txt && id -u", description: "run it" }),
    );
    h.upstream.define("cc.4", { text: "Added notes/hello.txt and changed the greeting to Howdy." });
    const before = { ...h.upstream.totals.anthropic };
    const seen = h.upstream.requests.length;

    const r = await runGreetingTask(h, "cc", "hello from claude\n");

    // Five calls, one per turn, each on the run's model, each with ?beta=true passed on.
    const requests = h.upstream.requests.slice(seen);
    assert.deepEqual(
      requests.map((q) => `${q.method} ${q.path}${q.query} ${q.script} ${(q.body as AnthropicBody).model}`),
      [0, 1, 2, 3, 4].map((t) => `POST /v1/messages?beta=true cc.${t} claude-sonnet-4-5`),
    );
    // The last call carries the earlier tool results: Bash ran as the sandbox user.
    const last = requests.at(-1)!.body as AnthropicBody;
    const results = last.messages.flatMap((m) =>
      Array.isArray(m.content) ? m.content.filter((c) => c.type === "tool_result") : [],
    );
    assert.equal(results.length, 4);
    assert.match(JSON.stringify(results[3]!.content), /1001/);
    assertLedgerMatchesUpstream(r.calls, before, h.upstream.totals.anthropic, 5);
    assertNoNetworkAttempts(r.net);
    assert.ok(r.wallMs < 60_000, `the scripted task took ${r.wallMs} ms`);
    process.stderr.write(
      `claude-code figures: image ${(h.built.image.sizeBytes / 1e6).toFixed(0)} MB, build ${h.buildMs} ms, ` +
        `first LLM call ${r.firstCallMs} ms after start, task ${r.wallMs} ms\n`,
    );
  });

  it("a spent budget ends it in seconds as budget_exhausted, the refusal the proxy's own", async () => {
    await assertSpentBudgetEndsRun(h, {
      script: "ccbudget",
      firstStep: tool("Write", { file_path: "/workspace/partial.txt", content: "half\n" }),
      budgetTokens: 60_000,
      provider: "anthropic",
    });
  });

  it("a refused (revoked) token ends it in seconds, with nothing sent upstream", async () => {
    await assertRevokedTokenEndsRun(h);
  });

  it("at the sandbox deadline, SIGTERM reaches Claude Code: exit 143, a summary that says so, timed_out", async () => {
    // The first call is held past the deadline, so the deadline lands mid-call; SIGKILL
    // would come only 30 s after SIGTERM, so a run that ends sooner ended on SIGTERM.
    let release: () => void = () => undefined;
    h.upstream.define("ccslow.0", {
      holdFirstByte: new Promise<void>((r) => (release = r)),
      text: "too late",
    });
    const r = await h
      .runSealed({ prompt: "Wait for it. [[script:ccslow]]", timeoutS: 12, killGraceMs: 30_000 })
      .finally(() => release());
    assert.equal(r.sandbox.reason, "deadline", r.stderr);
    assert.equal(r.sandbox.exitCode, 143, r.stderr);
    assert.ok(r.sandbox.durationMs < 30_000, `took ${r.sandbox.durationMs} ms: SIGTERM did not stop it`);
    assert.match(r.stdout, /it was stopped \(SIGTERM: the run's deadline passed or it was cancelled\)/);
    assert.equal(decideRunOutcome(r.sandbox, [], h.agent).outcome, "timed_out");
  });

  it("pauses on its capability request and resumes its own session in a new container with the decision (AIRLOCK_STATE_DIR)", async () => {
    h.upstream.define(
      "ccresume.0",
      tool("Bash", { command: 'airlock-request apt:jq "to parse the test output"', description: "ask" }),
    );
    h.upstream.define("ccresume.1", { text: "Asked for jq; waiting for a decision." });
    h.upstream.define(
      "ccresume.2",
      tool("Write", { file_path: "/workspace/after.txt", content: "resumed\n" }),
    );
    h.upstream.define("ccresume.3", { text: "Resumed with jq denied and wrote after.txt." });
    const seen = h.upstream.requests.length;
    // The real pause: the request is pending when the CLI ends its turn, so the run parks,
    // the decision is taken here (as `airlock run` takes it), and a new container resumes.
    const r = await h.runTask({
      files: { "README.md": "# demo\n" },
      prompt: "Parse the output. [[script:ccresume]]",
      decideRequests: async (pending) =>
        pending.map((q) => ({ id: q.id, state: "denied" as const, by: "maintainer", reason: "use node" })),
    });
    const requests = h.upstream.requests.slice(seen);
    assert.deepEqual(
      requests.map((q) => q.script),
      ["ccresume.0", "ccresume.1", "ccresume.2", "ccresume.3"],
      r.stderr,
    );
    // The capability request reached the run's proxy through the bridge with the run token.
    assert.match(JSON.stringify((requests[1]!.body as AnthropicBody).messages), /pending/);
    // The continued session carries the first one: the task, the tool call and its answer.
    const resumed = requests[2]!.body as AnthropicBody;
    const text = JSON.stringify(resumed.messages);
    assert.match(text, /Parse the output\./);
    assert.match(text, /airlock-request apt:jq/);
    assert.match(text, /Asked for jq; waiting for a decision\./);
    assert.match(
      text,
      /apt:jq: DENIED by maintainer: use node\. Do without it\.[^"]*\\n\\nDecisions:\\n- apt:jq: denied by maintainer \(use node\)/,
    );
    assert.match(r.stderr, /airlock-claude-code: continuing its session/);
    assert.match(r.stdout, /Resumed with jq denied and wrote after\.txt\.\n$/);
    assert.equal(git(r.repo, ["show", `${r.result.branch!}:after.txt`]), "resumed\n");
  });
});
