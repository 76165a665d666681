import assert from "node:assert/strict";
import type { LlmCall } from "../../core/db/schema.ts";
import type { UsageTotals } from "../stand-ins/scripted-llm-upstream.ts";
import type { ContainerNetCounters } from "./start-cli-agent-harness.ts";

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
