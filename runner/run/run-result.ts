import type { RelayResult } from "../relay/relay-workspace.ts";
import type { SandboxResult } from "../sandbox/run-sandboxed.ts";
import type { RunOutcome } from "./decide-run-outcome.ts";

/** How a run ended, as `airlock run` prints it and a runner publishes it. */
export interface RunResult {
  runId: string;
  /** `awaiting_approval`: the run parked for capability decisions (its branch holds the work so far). */
  outcome: RunOutcome | "awaiting_approval";
  reason: string;
  summaryMarkdown: string;
  /** Set only when the branch was pushed. */
  branch?: string | undefined;
  commit?: string | undefined;
  relay?: RelayResult | undefined;
  sandbox?: SandboxResult | undefined;
}
