import assert from "node:assert/strict";
import type { LlmCall } from "../../core/db/schema.ts";
import { decideRunOutcome } from "../../runner/run/decide-run-outcome.ts";
import { git } from "../helpers/git-repo.ts";
import type { Script, UsageTotals } from "../stand-ins/scripted-llm-upstream.ts";
import type { CliAgentHarness, ContainerNetCounters } from "./start-cli-agent-harness.ts";

/** The run's llm_calls rows add up to exactly what the upstream declared meanwhile. */
export function assertLedgerMatchesUpstream(
  calls: readonly LlmCall[],
  before: UsageTotals,
  after: UsageTotals,
  expectedCalls: number,
): void {
  const declared = {
    calls: after.calls - before.calls,
    inputTokens: after.inputTokens - before.inputTokens,
    outputTokens: after.outputTokens - before.outputTokens,
  };
  const recorded = {
    calls: calls.length,
    inputTokens: calls.reduce((sum, c) => sum + (c.inputTokens ?? 0), 0),
    outputTokens: calls.reduce((sum, c) => sum + (c.outputTokens ?? 0), 0),
  };
  assert.deepEqual(recorded, declared);
  assert.equal(declared.calls, expectedCalls);
}

/**
 * Nothing in the container tried to resolve a name, reach an address but loopback, or open
 * a loopback port other than a listening one (the bridge).
 */
export function assertNoNetworkAttempts(net: ContainerNetCounters): void {
  assert.deepEqual(
    {
      ipOutNoRoutes: net.ipOutNoRoutes,
      ip6OutNoRoutes: net.ip6OutNoRoutes,
      udpOutDatagrams: net.udpOutDatagrams,
      udp6OutDatagrams: net.udp6OutDatagrams,
      tcpAttemptFails: net.tcpAttemptFails,
    },
    { ipOutNoRoutes: 0, ip6OutNoRoutes: 0, udpOutDatagrams: 0, udp6OutDatagrams: 0, tcpAttemptFails: 0 },
  );
  assert.ok(net.tcpActiveOpens >= 1, "the agent never connected to the bridge");
}

/**
 * A run whose first call spends its whole token budget: it must end budget_exhausted within
 * seconds, the refusal the proxy's own (exactly one request reached the upstream), the
 * ledger equal to what the upstream declared, and the deliberate lookup made after the agent
 * seen by the container's counters (so the network probe can fail).
 */
export async function assertSpentBudgetEndsRun(
  h: CliAgentHarness,
  options: {
    script: string;
    firstStep: Script;
    budgetTokens: number;
    provider: "openai" | "anthropic";
  },
): Promise<void> {
  h.upstream.define(`${options.script}.0`, { ...options.firstStep, inputTokens: 60_000 });
  h.upstream.define(`${options.script}.1`, { text: "never reached" });
  const before = { ...h.upstream.totals[options.provider] };
  const seen = h.upstream.requests.length;
  const r = await h.runTask({
    files: { "README.md": "# demo\n" },
    prompt: `Spend it. [[script:${options.script}]]`,
    budgetTokens: options.budgetTokens,
    after: "getent hosts example.com >/dev/null",
  });
  assert.equal(r.result.outcome, "budget_exhausted", `${r.result.reason}\n${r.stderr}`);
  assert.equal(h.upstream.requests.length - seen, 1, "the budget refusal must come from the proxy");
  assert.ok(r.calls.some((c) => c.refusal === "budget"));
  assert.match(r.stdout, /the run's LLM budget is exhausted/);
  assertLedgerMatchesUpstream(
    r.calls.filter((c) => c.refusal === null),
    before,
    h.upstream.totals[options.provider],
    1,
  );
  assert.ok(r.wallMs < 45_000, `a spent budget took ${r.wallMs} ms to end the run`);
  assert.ok(r.net.ipOutNoRoutes > 0, JSON.stringify(r.net));
}

/**
 * The agent's image on the run's socket with a token the proxy refuses (what a revoked
 * token looks like): the agent must end within seconds, exit 2, nothing sent upstream, the
 * run's outcome failed. Returns the run for the CLI's own checks.
 */
export async function assertRevokedTokenEndsRun(
  h: CliAgentHarness,
): Promise<Awaited<ReturnType<CliAgentHarness["runSealed"]>>> {
  const started = Date.now();
  const r = await h.runSealed({ prompt: "Do something.", timeoutS: 120, refusedToken: true });
  const ms = Date.now() - started;
  assert.equal(r.sandbox.reason, "exited", r.stderr);
  assert.equal(r.sandbox.exitCode, 2, r.stderr);
  assert.equal(r.requests, 0);
  assert.match(r.stdout, /the LLM endpoint refused a call \(.*401/);
  assert.equal(decideRunOutcome(r.sandbox, [], h.agent).outcome, "failed");
  assert.ok(ms < 30_000, `a refused token took ${ms} ms to end the run`);
  return r;
}

/**
 * The shared task of the CLI agents' tests: a one-file repository, "change the greeting to
 * Howdy and leave a note" scripted as `script`. Asserts the run succeeded with exactly that
 * change on its branch (the note says `note`; the greeting was run into greeting.txt) and
 * the agent's closing words in the summary.
 */
export async function runGreetingTask(h: CliAgentHarness, script: string, note: string) {
  const r = await h.runTask({
    files: { "src/greet.js": 'console.log("Hello, world");\n', "README.md": "# demo\n" },
    prompt: `Change the greeting to Howdy and leave a note. [[script:${script}]]`,
  });
  assert.equal(r.result.outcome, "succeeded", `${r.result.reason}\n${r.stderr}`);
  const branch = r.result.branch!;
  assert.equal(
    git(r.repo, ["diff", "--name-status", "main", branch]).trim(),
    "A\tgreeting.txt\nA\tnotes/hello.txt\nM\tsrc/greet.js",
  );
  assert.equal(git(r.repo, ["show", `${branch}:notes/hello.txt`]), note);
  assert.equal(git(r.repo, ["show", `${branch}:src/greet.js`]), 'console.log("Howdy, world");\n');
  assert.equal(git(r.repo, ["show", `${branch}:greeting.txt`]), "Howdy, world\n");
  assert.match(
    r.result.summaryMarkdown,
    /### The agent's summary[^\n]*\n\n> Added notes\/hello\.txt and changed the greeting to Howdy\./,
  );
  return r;
}
