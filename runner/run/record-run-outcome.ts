import { listRunCalls } from "../../core/db/runs.ts";
import { decideRunOutcome, type RunOutcome } from "./decide-run-outcome.ts";
import { readAgentSummary } from "./read-agent-summary.ts";
import type { SealedAgentResult } from "./run-agent-sealed.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

const maxStoredSummaryChars = 16 * 1024;

export interface RecordedOutcome {
  outcome: RunOutcome;
  reason: string;
  /** The agent's own account (`.airlock/summary.md`), for the commit body. */
  agentSummary?: string | undefined;
}

/**
 * Phase 3: decide the outcome from the sandbox result, the proxy's rows (each already
 * chained as `llm.call` by the proxy's recorder) and the workspace's disk; audit
 * `sandbox.exit`, `agent.summary`.
 */
export async function recordRunOutcome(
  ctx: RunPhaseContext,
  sealed: SealedAgentResult,
  workspace: string,
): Promise<RecordedOutcome> {
  const { sandbox, recordError, egressRecordError } = sealed;
  const calls = await listRunCalls(ctx.deps.db, ctx.input.runId);
  const volume = ctx.workspaceVolume;
  const disk = volume && { full: (await volume.readUsage()).full, capMb: volume.sizeMb };
  let { outcome, reason } = decideRunOutcome(sandbox, calls, ctx.input.agent, disk);
  if (recordError !== undefined) {
    // The ledger would be missing calls: the run cannot count as a success.
    outcome = "failed";
    reason = `the proxy could not record every LLM call (${recordError})`;
  } else if (egressRecordError !== undefined) {
    outcome = "failed";
    reason = `the egress proxy could not record every connection (${egressRecordError})`;
  }
  await ctx.audit("sandbox.exit", {
    reason: sandbox.reason,
    exitCode: sandbox.exitCode,
    durationMs: sandbox.durationMs,
    containerId: sandbox.containerId,
    limits: sandbox.limits,
  });
  const agentSummary = await readAgentSummary(workspace);
  if (agentSummary !== undefined) {
    await ctx.audit("agent.summary", { text: agentSummary.slice(0, maxStoredSummaryChars) });
  }
  ctx.log.info({ outcome, reason, calls: calls.length }, "agent ended");
  return { outcome, reason, agentSummary };
}
