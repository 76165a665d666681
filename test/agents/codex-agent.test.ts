import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../core/logger.ts";
import { newRunId } from "../../core/ids.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { decideRunOutcome } from "../../runner/run/decide-run-outcome.ts";
import { runSandboxed } from "../../runner/sandbox/run-sandboxed.ts";
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

/** Codex's shell tool: one `exec_command` function call. */
function shell(cmd: string) {
  return { toolCall: { name: "exec_command", arguments: JSON.stringify({ cmd }) } };
}

/** Codex's apply_patch: a freeform `custom` tool call whose input is the patch text. */
function applyPatch(patch: string) {
  return { customToolCall: { name: "apply_patch", input: patch } };
}

interface ResponsesBody {
  model: string;
  tools: { type: string; name?: string }[];
  input: { type?: string; role?: string; output?: string; content?: unknown }[];
}

describe("codex: the Codex CLI in its image, through the real proxy and relay", () => {
  let h: CliAgentHarness;

  before(async () => {
    h = await startCliAgentHarness("codex");
  });

  after(async () => {
    await h?.close();
  });

  it("is built on the base image, pinned, every file root-owned, no key in it", async () => {
    assert.match(h.built.ref, /^airlock\/codex:[0-9a-f]{64}$/);
    assert.equal(h.built.image.labels["airlock.agent"], "codex");
    assert.equal(h.built.image.labels["airlock.agent-version"], "0.171.0");
    assert.equal(h.built.image.labels["airlock.base-image-id"], h.built.baseImage.id);
    const out = createTextSink();
    const probe = await runSandboxed({
      runtime,
      logger,
      image: h.built.ref,
      argv: [
        "sh",
        "-c",
        "codex --version; find /opt/codex /opt/airlock-agent /usr/local/bin ! -user 0 | head -5; " +
          "find /opt/codex /opt/airlock-agent -perm /022 ! -type l | head -5; env | grep -ci -e key -e token",
      ],
      ceiling: { memoryMb: 1024, cpus: 1, pids: 64, timeoutS: 60 },
      runId: newRunId(),
      runnerId: `test-codex-${process.pid}`,
      stdout: out,
    });
    // grep -c exits 1 when it counts 0, which is the answer wanted here.
    assert.equal(probe.exitCode, 1, out.text());
    assert.equal(out.text(), "codex-cli 0.171.0\n0\n");
  });

  it("patches with apply_patch and runs a command with its shell tool; the branch, ledger and network say so", async () => {
    h.upstream.define(
      "cx.0",
      applyPatch(
        "*** Begin Patch\n*** Add File: notes/hello.txt\n+hello from codex\n" +
          '*** Update File: src/greet.js\n@@\n-console.log("Hello, world");\n+console.log("Howdy, world");\n' +
          "*** End Patch\n",
      ),
    );
    h.upstream.define("cx.1", shell("node src/greet.js > greeting.txt && id -u"));
    h.upstream.define("cx.2", { text: "Added notes/hello.txt and changed the greeting to Howdy." });
    const before = { ...h.upstream.totals.openai };
    const seen = h.upstream.requests.length;

    const r = await runGreetingTask(h, "cx", "hello from codex\n");

    // Streaming Responses over HTTP on the run's model, one call per turn.
    const requests = h.upstream.requests.slice(seen);
    assert.deepEqual(
      requests.map((q) => `${q.method} ${q.path}${q.query} ${q.script} ${(q.body as ResponsesBody).model}`),
      [0, 1, 2].map((t) => `POST /v1/responses cx.${t} gpt-5`),
    );
    const first = requests[0]!.body as ResponsesBody & { stream: boolean };
    assert.equal(first.stream, true);
    // The run's model is described from a bundled profile: apply_patch is offered.
    assert.ok(first.tools.some((t) => t.type === "custom" && t.name === "apply_patch"));
    assert.ok(first.tools.some((t) => t.type === "function" && t.name === "exec_command"));
    const outputs = (requests[2]!.body as ResponsesBody).input.filter((i) => /_output$/.test(i.type ?? ""));
    assert.deepEqual(
      outputs.map((o) => o.type),
      ["custom_tool_call_output", "function_call_output"],
    );
    assert.match(
      outputs[0]!.output!,
      /Success\. Updated the following files:\nA notes\/hello\.txt\nM src\/greet\.js/,
    );
    assert.match(outputs[1]!.output!, /Process exited with code 0[\s\S]*\n1001\n/);
    assertLedgerMatchesUpstream(r.calls, before, h.upstream.totals.openai, 3);
    assertNoNetworkAttempts(r.net);
    assert.ok(r.wallMs < 60_000, `the scripted task took ${r.wallMs} ms`);
    process.stderr.write(
      `codex figures: image ${(h.built.image.sizeBytes / 1e6).toFixed(0)} MB, build ${h.buildMs} ms, ` +
        `first LLM call ${r.firstCallMs} ms after start, task ${r.wallMs} ms\n`,
    );
  });

  it("a spent budget ends it in seconds as budget_exhausted, the refusal the proxy's own", async () => {
    await assertSpentBudgetEndsRun(h, {
      script: "cxbudget",
      firstStep: shell("echo half > partial.txt"),
      budgetTokens: 40_000,
      provider: "openai",
    });
  });

  it("a refused (revoked) token ends it in seconds, with nothing sent upstream", async () => {
    const r = await assertRevokedTokenEndsRun(h);
    // Bounded by the provider entry's retries (AIRLOCK_LLM_RETRIES, 2), not Codex's default 5.
    const retries = [...r.stderr.matchAll(/retrying sampling request \((\d+)\/(\d+)/g)];
    assert.ok(retries.length > 0, r.stderr);
    assert.deepEqual(new Set(retries.map((m) => m[2])), new Set(["2"]), r.stderr);
  });

  it("at the sandbox deadline, SIGTERM reaches Codex: exit 143, a summary that says so, timed_out", async () => {
    // The first call is held past the deadline, so the deadline lands mid-call; SIGKILL
    // would come only 30 s after SIGTERM, so a run that ends sooner ended on SIGTERM.
    let release: () => void = () => undefined;
    h.upstream.define("cxslow.0", {
      holdFirstByte: new Promise<void>((r) => (release = r)),
      text: "too late",
    });
    const r = await h
      .runSealed({ prompt: "Wait for it. [[script:cxslow]]", timeoutS: 12, killGraceMs: 30_000 })
      .finally(() => release());
    assert.equal(r.sandbox.reason, "deadline", r.stderr);
    assert.equal(r.sandbox.exitCode, 143, r.stderr);
    assert.ok(r.sandbox.durationMs < 30_000, `took ${r.sandbox.durationMs} ms: SIGTERM did not stop it`);
    assert.match(r.stdout, /it was stopped \(SIGTERM: the run's deadline passed or it was cancelled\)/);
    assert.equal(decideRunOutcome(r.sandbox, [], h.agent).outcome, "timed_out");
  });

  it("pauses on its capability request and resumes its own session in a new container with the decision (AIRLOCK_STATE_DIR)", async () => {
    h.upstream.define("cxresume.0", shell('airlock-request apt:jq "to parse the test output"'));
    h.upstream.define("cxresume.1", { text: "Asked for jq; waiting for a decision." });
    h.upstream.define("cxresume.2", shell("echo resumed > after.txt"));
    h.upstream.define("cxresume.3", { text: "Resumed with jq denied and wrote after.txt." });
    const seen = h.upstream.requests.length;
    // The real pause: the request is pending when the CLI ends its turn, so the run parks,
    // the decision is taken here (as `airlock run` takes it), and a new container resumes.
    const r = await h.runTask({
      files: { "README.md": "# demo\n" },
      prompt: "Parse the output. [[script:cxresume]]",
      decideRequests: async (pending) =>
        pending.map((q) => ({ id: q.id, state: "denied" as const, by: "maintainer", reason: "use node" })),
    });
    const requests = h.upstream.requests.slice(seen);
    assert.deepEqual(
      requests.map((q) => q.script),
      ["cxresume.0", "cxresume.1", "cxresume.2", "cxresume.3"],
      r.stderr,
    );
    // The capability request reached the run's proxy through the bridge with the run token.
    assert.match(JSON.stringify((requests[1]!.body as ResponsesBody).input), /pending/);
    // The continued session carries the first one: the task, the tool call and its answer.
    const text = JSON.stringify((requests[2]!.body as ResponsesBody).input);
    assert.match(text, /Parse the output\./);
    assert.match(text, /airlock-request apt:jq/);
    assert.match(text, /Asked for jq; waiting for a decision\./);
    assert.match(
      text,
      /apt:jq: DENIED by maintainer: use node\. Do without it\.[^"]*\\n\\nDecisions:\\n- apt:jq: denied by maintainer \(use node\)/,
    );
    assert.match(r.stderr, /airlock-codex: continuing its session/);
    assert.match(r.stdout, /Resumed with jq denied and wrote after\.txt\.\n$/);
    assert.equal(git(r.repo, ["show", `${r.result.branch!}:after.txt`]), "resumed\n");
  });
});
