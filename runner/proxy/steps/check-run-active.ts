import { isTerminalRunState } from "../../../core/run-states.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";
import type { RunAccount } from "../run-ledger.ts";

/** A finished run makes no more calls; the refusal is recorded against it. */
export function checkRunActive(account: RunAccount): StepResult<object> {
  if (!isTerminalRunState(account.state)) return { ok: true };
  return refuse(
    403,
    "permission",
    "run_finished",
    `run ${account.runId} has finished (${account.state}); it makes no more calls`,
  );
}
