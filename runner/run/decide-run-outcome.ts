import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { LlmCall } from "../../core/db/schema.ts";
import type { SandboxResult } from "../sandbox/run-sandboxed.ts";

export type RunOutcome =
  | "succeeded"
  | "failed"
  | "timed_out"
  | "budget_exhausted"
  | "disk_limit"
  | "cancelled"
  | "capability_timeout";

/** The workspace's disk-capped filesystem as the agent left it (AIRLOCK_MAX_DISK_MB). */
export interface WorkspaceDiskState {
  full: boolean;
  capMb: number;
}

/** A row the proxy wrote when it refused a call because the run's budget was spent. */
export function isBudgetRefusal(call: Pick<LlmCall, "refusal">): boolean {
  return call.refusal === "budget";
}

/**
 * How a run ended, from the sandbox's result and the proxy's rows (not from anything the
 * agent says about itself, except its exit code, which its catalog entry defines). A
 * budget refusal in llm_calls counts even when the agent exits with a code of its own for
 * it, or has no such code.
 */
export function decideRunOutcome(
  sandbox: Pick<SandboxResult, "reason" | "exitCode" | "limits">,
  calls: readonly Pick<LlmCall, "refusal" | "error">[],
  agent: Pick<AgentDefinition, "budgetExitCode">,
  disk?: WorkspaceDiskState | undefined,
): { outcome: RunOutcome; reason: string } {
  const refusal = calls.find(isBudgetRefusal);
  switch (sandbox.reason) {
    case "deadline":
      return { outcome: "timed_out", reason: `the deadline of ${sandbox.limits.timeoutS} s passed` };
    case "cancelled":
      return { outcome: "cancelled", reason: "cancelled by the operator" };
    case "oom_killed":
      return { outcome: "failed", reason: `out of memory (limit ${sandbox.limits.memoryMb} MiB)` };
    case "output_capped":
      return {
        outcome: "failed",
        reason: `the agent's output passed the cap of ${sandbox.limits.outputCapBytes} bytes`,
      };
    case "exited":
      break;
  }
  // A full workspace explains whatever the agent did next, even an exit 0: its files may be cut short.
  if (disk?.full) {
    return {
      outcome: "disk_limit",
      reason: `the workspace filled its disk cap of ${disk.capMb} MiB (AIRLOCK_MAX_DISK_MB)`,
    };
  }
  if (sandbox.exitCode === 0) return { outcome: "succeeded", reason: "the agent finished (exit 0)" };
  const saysBudget = agent.budgetExitCode !== undefined && sandbox.exitCode === agent.budgetExitCode;
  if (saysBudget || refusal !== undefined) {
    return {
      outcome: "budget_exhausted",
      reason:
        refusal?.error !== undefined && refusal.error !== null
          ? `the proxy refused a call: ${refusal.error.replace(/^budget: /, "")}`
          : `the agent reported its budget exhausted (exit ${String(sandbox.exitCode)})`,
    };
  }
  return { outcome: "failed", reason: `the agent exited with code ${String(sandbox.exitCode)}` };
}
