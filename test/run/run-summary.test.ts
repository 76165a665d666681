// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditEvent, LlmCall, Run } from "../../core/db/schema.ts";
import { renderRunSummary } from "../../core/summary/render-run-summary.ts";
import { sumRunFigures } from "../../core/summary/sum-run-figures.ts";
import { decideRunOutcome } from "../../runner/run/decide-run-outcome.ts";
import { getAgent } from "../../core/agents/get-agent.ts";

const limits = { memoryMb: 512, cpus: 1, pids: 64, timeoutS: 30, tmpfsMb: 64, outputCapBytes: 1024 };

function call(overrides: Partial<LlmCall>): LlmCall {
  return {
    id: 1,
    runId: "r1",
    attempt: 0,
    provider: "openai",
    model: "gpt-4.1-mini",
    endpoint: "/v1/chat/completions",
    stream: false,
    status: 200,
    error: null,
    refusal: null,
    startedAt: new Date(0),
    latencyMs: 10,
    ttfbMs: null,
    inputTokens: 0,
    outputTokens: 0,
    cacheCreationTokens: 0,
    cacheReadTokens: 0,
    callKey: null,
    costUsd: "0",
    priced: true,
    clientAborted: false,
    upstreamAttempts: 1,
    requestBody: null,
    responseBody: null,
    ...overrides,
  };
}

function event(seq: number, type: string, data: Record<string, unknown>): AuditEvent {
  return {
    id: seq,
    runId: "r1",
    seq,
    at: new Date(0),
    type,
    data,
    prevHash: "p",
    hash: `h${seq}`,
    hmac: "m",
  };
}

const run: Run = {
  id: "r1",
  kind: "local",
  state: "timed_out",
  agent: "builtin",
  repo: "/src/x",
  issueNumber: null,
  prompt: "p",
  model: "gpt-4.1-mini",
  attempt: 0,
  budgetUsd: null,
  budgetTokens: null,
  leaseOwner: null,
  leaseExpiresAt: null,
  outcomeReason: "the deadline of 30 s passed",
  deliveryId: null,
  installationId: null,
  cloneUrl: null,
  baseRef: null,
  headBranch: null,
  prNumber: null,
  followUpOf: null,
  requestedBy: null,
  trigger: null,
  repoConfig: null,
  trackingCommentId: null,
  cancelRequestedAt: null,
  cancelRequestedBy: null,
  publishedAt: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  startedAt: new Date(1000),
  finishedAt: new Date(13_500),
  segment: 0,
  pausedAt: null,
  approvalDeadline: null,
  actionsImage: null,
};

const builtin = getAgent("builtin");

describe("run outcome and summary", () => {
  it("maps sandbox endings and proxy budget refusals to outcomes", () => {
    const budget = call({
      status: 429,
      refusal: "budget",
      error: "budget: run r1 has spent its token budget (10 of 5 tokens)",
    });
    const rate = call({ status: 429, refusal: "rate_limit", error: "rate_limit: too many in flight" });
    // The upstream's own 429 is not the proxy's budget refusal, whatever its text says.
    const upstream429 = call({ status: 429, refusal: null, error: "budget: quota exceeded upstream" });
    type Ending = Parameters<typeof decideRunOutcome>[0]["reason"];
    const decide = (
      reason: Ending,
      exitCode: number | null,
      calls: Parameters<typeof decideRunOutcome>[1],
      agent: Parameters<typeof decideRunOutcome>[2] = builtin,
    ) => decideRunOutcome({ reason, exitCode, limits }, calls, agent);
    assert.equal(decide("exited", 2, [upstream429]).outcome, "failed");
    assert.equal(decide("exited", 0, [budget]).outcome, "succeeded");
    assert.deepEqual(decide("exited", 3, []), {
      outcome: "budget_exhausted",
      reason: "the agent reported its budget exhausted (exit 3)",
    });
    assert.deepEqual(decide("exited", 2, [budget]), {
      outcome: "budget_exhausted",
      reason: "the proxy refused a call: run r1 has spent its token budget (10 of 5 tokens)",
    });
    assert.equal(decide("exited", 2, [rate]).outcome, "failed");
    assert.equal(decide("deadline", 143, [budget]).outcome, "timed_out");
    assert.equal(decide("cancelled", null, []).outcome, "cancelled");
    assert.match(decide("oom_killed", 137, []).reason, /out of memory/);
    assert.equal(decide("output_capped", 137, []).outcome, "failed");
    // The exit code is the agent's own word for it (its catalog entry): another agent's exit 3 is a failure.
    assert.deepEqual(decide("exited", 3, [], {}), {
      outcome: "failed",
      reason: "the agent exited with code 3",
    });
    assert.equal(decide("exited", 7, [], { budgetExitCode: 7 }).outcome, "budget_exhausted");
  });

  it("sums cost exactly and flags unpriced models", () => {
    const f = sumRunFigures([
      call({ id: 1, inputTokens: 3, outputTokens: 1, costUsd: "0.1000000001" }),
      call({ id: 2, inputTokens: 4, outputTokens: 2, costUsd: "0.2000000002", cacheReadTokens: 5 }),
      call({ id: 3, model: "local-llama", priced: false, inputTokens: 7, costUsd: "0" }),
      call({ id: 4, status: 429, error: "budget: x" }),
    ]);
    assert.equal(f.costUsd, "0.3000000003");
    assert.equal(f.inputTokens, 14);
    assert.equal(f.outputTokens, 3);
    assert.equal(f.cacheReadTokens, 5);
    assert.equal(f.failedCalls, 1);
    assert.deepEqual(f.unpricedModels, ["local-llama"]);
  });

  it("renders a partial result, escapes hostile paths and models, and keeps the per-call log collapsed", () => {
    const hostile = "</details><img src=x onerror=alert(1)>|`x`.md";
    const markdown = renderRunSummary({
      run,
      calls: [
        call({
          id: 7,
          model: "evil|<b>model</b>",
          inputTokens: 10,
          outputTokens: 2,
          costUsd: "0.5",
          priced: false,
        }),
      ],
      audit: [
        event(1, "run.error", { reason: "a stand-in first entry" }),
        event(2, "image.ready", { ref: "airlock/builtin:abc", id: "sha256:def" }),
        event(3, "sandbox.exit", {
          reason: "deadline",
          exitCode: 143,
          durationMs: 30_100,
          containerId: "c1",
          limits,
        }),
        event(4, "agent.summary", { text: "Did half.\n<script>alert(1)</script>\n![t](http://x/t.png)" }),
        event(5, "relay.committed", {
          branch: "airlock/r1",
          commit: "c0ffee",
          auditHeadInTrailer: null,
          filesChanged: [{ path: hostile, change: "added" }],
          heldBack: [{ path: ".github/workflows/ci.yml", reason: "modified under .github/workflows/" }],
          refused: [],
          refusedOmitted: 0,
        }),
        event(6, "relay.pushed", {
          branch: "airlock/r1",
          commit: "c0ffee",
          remoteRef: "refs/heads/airlock/r1",
        }),
      ],
    });
    assert.match(markdown, /^## Airlock run `r1`: timed_out$/m);
    assert.match(
      markdown,
      /^> \*\*Partial result\.\*\* The run ended timed_out \(the deadline of 30 s passed\)/m,
    );
    assert.match(markdown, /^\| Duration \| 13\.5 s \(agent 30\.1 s, ended: deadline, exit code 143\) \|$/m);
    assert.match(markdown, /^\| Audit chain \| `h6` \(6 entries;/m);
    assert.match(markdown, /\*\*plus unpriced calls\*\* to `evil\\\|<b>model<\/b>`/);
    assert.ok(markdown.includes("- `` </details><img src=x onerror=alert(1)>|`x`.md `` (added)"), markdown);
    assert.match(
      markdown,
      /- held back: `\.github\/workflows\/ci\.yml`: modified under \.github\/workflows\//,
    );
    assert.ok(
      markdown.includes("> &lt;script&gt;alert(1)&lt;/script&gt;\n> !\\[t](http://x/t.png)"),
      markdown,
    );
    assert.ok(markdown.includes("| 1 | 7 | evil\\|&lt;b&gt;model&lt;/b&gt; | 200 | 10 | 2 |"), markdown);
    // Only our own <details> opens and closes; nothing from the sandbox adds a raw tag outside code spans.
    const outsideCode = markdown.replace(/``[^\n]*?``|`[^`\n]*`/g, "");
    assert.deepEqual(outsideCode.match(/<\/?[a-z][^>]*>/g), [
      "<details>",
      "<summary>",
      "</summary>",
      "</details>",
    ]);
  });

  it("refuses to render from a ledger entry that does not fit its type (parsed, not cast)", () => {
    assert.throws(
      () =>
        renderRunSummary({
          run,
          calls: [],
          audit: [event(1, "relay.pushed", { branch: ["not", "a", "string"], commit: "c0ffee" })],
        }),
      (error: Error & { code?: string }) =>
        error.code === "audit_event_malformed" && /entry 1 \(relay\.pushed\) of run r1/.test(error.message),
    );
  });
});
