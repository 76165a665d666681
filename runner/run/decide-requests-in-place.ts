import { decideCapabilityRequest } from "../../core/db/capability-requests.ts";
import { parkRun, resumeDecidedRun } from "../../core/db/runs.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import type { LocalDecision } from "./recorded-run-input.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/**
 * `airlock run` (issue 10 §8): the same states as a GitHub run, decided here. The run
 * parks in awaiting_approval, `decide` answers each pending request (the terminal, or
 * --deny-requests), each decision is recorded and audited, and the run is queued again
 * for its next segment. A request `decide` leaves out is denied, so nothing stays pending.
 */
export async function decideRequestsInPlace(
  ctx: RunPhaseContext,
  pending: readonly CapabilityRequest[],
  decide: (pending: readonly CapabilityRequest[]) => Promise<LocalDecision[]>,
): Promise<number> {
  const { deps, input } = ctx;
  const parked = await parkRun(deps.db, {
    runId: input.runId,
    attempt: input.attempt,
    deadline: new Date(Date.now() + (input.approvalTimeoutS ?? 72 * 3600) * 1000),
    reason: `waiting for the operator's decision on ${pending.length} capability request(s)`,
  });
  if (!parked) throw new AirlockError("run_not_parked", `run ${input.runId} could not be parked`);
  input.onProgress?.({ runId: input.runId, state: "awaiting_approval" });
  const decisions = await decide(pending);
  for (const request of pending) {
    const decision = decisions.find((d) => d.id === request.id) ?? {
      state: "denied" as const,
      by: "airlock run",
      reason: "no decision was given for it",
    };
    await decideCapabilityRequest(deps.db, {
      runId: input.runId,
      id: request.id,
      state: decision.state,
      by: decision.by,
      reason: decision.reason,
      secret: deps.tokenSecret,
    });
  }
  const resumed = await resumeDecidedRun(deps.db, input.runId);
  if (!resumed.resumed) {
    throw new AirlockError("run_not_resumed", `run ${input.runId} could not be resumed (${resumed.why})`);
  }
  input.onProgress?.({ runId: input.runId, state: "queued" });
  return resumed.segment;
}
