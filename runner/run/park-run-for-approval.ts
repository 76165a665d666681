import { saveRunAgentState } from "../../core/db/run-agent-states.ts";
import { parkRun } from "../../core/db/runs.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import type { RunCheckout } from "../relay/prepare-run-checkout.ts";
import { packAgentState } from "./agent-state/pack-agent-state.ts";
import { agentStateDir } from "./prepare-agent-state.ts";
import { publishRunBranch, type PublishedBranch } from "./publish-run-branch.ts";
import type { RecordedOutcome } from "./record-run-outcome.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/** Default approval_timeout when the run has no repository config (72 h, issue 10 §2). */
export const defaultApprovalTimeoutS = 72 * 3600;

/**
 * The agent stopped with requests pending and nobody here can decide (issue 10 §2):
 * 1. Save the agent's state folder in the database (bounded; packAgentState).
 * 2. Commit the work so far plus `.github/airlock/capabilities.yml` and push the branch.
 * 3. Audit `run.paused`, then park the run (awaiting_approval, lease released, deadline
 *    = now + approval_timeout). From here on nothing runs until a decision or the deadline.
 * The state is saved before the push so that a runner dying in between leaves a run that
 * is re-claimed and redone, never one parked without its state.
 */
export async function parkRunForApproval(
  ctx: RunPhaseContext,
  checkout: RunCheckout,
  decided: RecordedOutcome,
  pending: readonly CapabilityRequest[],
  segment: number,
  published: PublishedBranch,
): Promise<{ deadline: Date }> {
  const { deps, input } = ctx;
  const packed = await packAgentState(agentStateDir(ctx));
  await saveRunAgentState(deps.db, {
    runId: input.runId,
    segment,
    archive: packed.archive,
    bytes: packed.bytes,
    files: packed.files,
    sha256: packed.sha256,
  });
  const asked = pending.map((r) => `${r.kind}:${r.name}${r.version ? `@${r.version}` : ""}`);
  await publishRunBranch(ctx, checkout, decided, published, { pausedFor: asked });
  const deadline = new Date(Date.now() + (input.approvalTimeoutS ?? defaultApprovalTimeoutS) * 1000);
  await ctx.audit("run.paused", {
    segment,
    pending: pending.map((r) => r.id),
    state: {
      bytes: packed.bytes,
      files: packed.files,
      sha256: packed.sha256,
      skipped: packed.skipped.length,
    },
    deadline: deadline.toISOString(),
  });
  const parked = await parkRun(deps.db, {
    runId: input.runId,
    attempt: input.attempt,
    deadline,
    reason: `waiting for a maintainer's decision on ${asked.join(", ")}`,
  });
  if (!parked) {
    throw new AirlockError(
      "run_not_parked",
      `run ${input.runId} could not be parked: it ended or another runner took it over meanwhile`,
    );
  }
  input.onProgress?.({ runId: input.runId, state: "awaiting_approval" });
  ctx.log.info({ pending: asked, deadline: deadline.toISOString() }, "run parked for capability decisions");
  return { deadline };
}
