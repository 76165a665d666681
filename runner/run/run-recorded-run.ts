import { access, rm } from "node:fs/promises";
import { join } from "node:path";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { appendRunEvent, setRunState } from "../../core/db/runs.ts";
import type { RunPhase } from "../../core/run-phases.ts";
import type { RunState } from "../../core/run-states.ts";
import { loadRunSummaryFacts } from "../../core/summary/load-run-summary-facts.ts";
import { renderRunSummary } from "../../core/summary/render-run-summary.ts";
import type { GitCredentials } from "../relay/git-credentials.ts";
import type { RunCheckout } from "../relay/prepare-run-checkout.ts";
import { redactCredentials } from "../relay/redact-credentials.ts";
import { removeRunCheckout } from "../relay/remove-run-checkout.ts";
import type { SandboxResult } from "../sandbox/run-sandboxed.ts";
import type { RunOutcome } from "./decide-run-outcome.ts";
import { openFirstSegment } from "./open-first-segment.ts";
import { publishRunBranch, type PublishedBranch } from "./publish-run-branch.ts";
import { recordRunOutcome } from "./record-run-outcome.ts";
import { recordRunPhase } from "./record-run-phase.ts";
import type { RecordedRunInput } from "./recorded-run-input.ts";
import { runAgentSealed, type OpenedSegment } from "./run-agent-sealed.ts";
import {
  closePendingCapabilityRequests,
  grantPreApprovedCapabilities,
  listPendingCapabilityRequests,
} from "../../core/db/capability-requests.ts";
import { decideRequestsInPlace } from "./decide-requests-in-place.ts";
import { parkRunForApproval } from "./park-run-for-approval.ts";
import { agentStateDir } from "./prepare-agent-state.ts";
import { writeResumeNote } from "./write-resume-note.ts";
import type { RunDeps } from "./run-deps.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";
import type { RunResult } from "./run-result.ts";

/**
 * A run already recorded (DESIGN §1 steps 3, 4 and 7): `airlock run` records it just
 * before (recordAndRunLocalRun); a GitHub run was recorded by the app and claimed by a runner.
 *
 * 1. Prepare the workspace, with the image and the container made beside it
 *    (openFirstSegment, which maps what waits for what).
 * 2. Run the agent sealed behind the run's proxy (runAgentSealed).
 * 3. Record the outcome in the ledger (recordRunOutcome).
 * 4. Publish the branch, unless cancelled (publishRunBranch).
 * 5. Remove the run folder (only now that the relay is done) and the socket folder. When
 *    publishing fails the run ends failed and the folder is kept: it holds the only copy.
 * 6. Audit `run.finished`, set the final state, render the summary from the stored rows
 *    (beside step 5's removal: it reads only the database).
 */
export async function runRecordedRun(deps: RunDeps, input: RecordedRunInput): Promise<RunResult> {
  const { db } = deps;
  const { runId } = input;
  const log = deps.logger.child({ runId, agent: input.agent.id });
  let credentials: GitCredentials | undefined;
  // The segment the phases being timed belong to; the loop below moves it on.
  let segment = input.segment ?? 0;
  const recordPhase = (phase: RunPhase, ms: number) =>
    recordRunPhase(deps, { runId, agent: input.agent.id, segment }, phase, ms);
  const ctx: RunPhaseContext = {
    deps,
    input,
    log,
    runDir: join(deps.dataDir, "runs", runId),
    socketDir: join(deps.dataDir, "sockets", runId),
    time: async (phase, work) => {
      const started = performance.now();
      const result = await work();
      await recordPhase(phase, performance.now() - started);
      return result;
    },
    recordPhase,
    audit: (type, data) => appendAuditEvent(db, { runId, type, data, secret: deps.tokenSecret }),
    enter: async (state: RunState, data: { reason?: string } = {}) => {
      await setRunState(db, runId, state, data, { attempt: input.attempt });
      input.onProgress?.({ runId, state });
    },
    askCredentials: async () => (credentials = (await input.source.credentials?.()) ?? credentials),
  };
  const { runDir } = ctx;
  let checkout: RunCheckout | undefined;
  let sandbox: SandboxResult | undefined;
  const published: PublishedBranch = {};
  let outcome: RunOutcome;
  let reason: string;
  let keepRunDir = false;
  let parked = false;
  let summary: Promise<string> | undefined;
  try {
    try {
      // Before the image is ensured, which reads them (beside the checkout: openFirstSegment).
      if (input.preapproved && input.preapproved.grants.length > 0) {
        await grantPreApprovedCapabilities(db, {
          runId,
          grants: input.preapproved.grants,
          by: input.preapproved.approvedBy,
          reason: "pre-approved before the run started",
          secret: deps.tokenSecret,
        });
      }
      const first = await openFirstSegment(ctx, segment);
      checkout = first.checkout;
      const { restored } = first;
      let opened: OpenedSegment | undefined = first.opened;
      for (;;) {
        const resuming = segment;
        const sealed = await runAgentSealed(ctx, checkout.workspace, {
          number: segment,
          stateDir: agentStateDir(ctx),
          opened,
          beforeStart:
            resuming > 0
              ? async () => {
                  const decisions = await writeResumeNote(ctx, resuming);
                  await ctx.audit("run.resumed", {
                    segment: resuming,
                    runner: deps.runnerId,
                    restored: resuming === (input.segment ?? 0) ? (restored ?? null) : null,
                    decisions: decisions.map((d) => ({ id: d.id, state: d.state, by: d.by })),
                  });
                }
              : undefined,
        });
        sandbox = sealed.sandbox;
        opened = undefined;
        const decided = await recordRunOutcome(ctx, sealed, checkout.workspace);
        ({ outcome, reason } = decided);
        const pending = decided.outcome === "succeeded" ? await listPendingCapabilityRequests(db, runId) : [];
        if (pending.length === 0) {
          // Still pending when the run ended otherwise (deadline, budget…): never to be decided.
          await closePendingCapabilityRequests(db, {
            runId,
            state: "failed",
            by: "airlock",
            reason: `the run ended ${decided.outcome} before a decision`,
            secret: deps.tokenSecret,
          });
          await publishRunBranch(ctx, checkout, decided, published);
          break;
        }
        if (input.decideRequests === undefined) {
          await parkRunForApproval(ctx, checkout, decided, pending, segment, published);
          parked = true;
          break;
        }
        const asked = performance.now();
        segment = await decideRequestsInPlace(ctx, pending, input.decideRequests);
        await appendRunEvent(db, runId, "run.waited", {
          segment,
          ms: Math.round(performance.now() - asked),
        });
      }
    } catch (error) {
      const message = redactCredentials((error as Error).message, credentials);
      if (sandbox === undefined) {
        // Before the agent ran there is no work to lose: record the failure and let the
        // operator see the error itself (a wrong path, Docker not running, a bad image).
        log.info({ err: message }, "run failed before the agent started");
        await ctx.audit("run.error", { reason: message }).catch(() => {});
        await finish("failed", message).catch(() => {});
        throw error;
      }
      // The agent's work exists only in the run folder now: keep it for the operator.
      keepRunDir = true;
      parked = false;
      outcome = "failed";
      reason = `publishing failed: ${message}; the agent's workspace is kept in ${checkout?.workspace ?? runDir}`;
      log.error({ err: message, runDir }, "publishing failed; the run folder is kept");
      await ctx.audit("relay.failed", { reason: message, keptIn: runDir });
    }
    if (!parked) await finish(outcome, reason);
    // Read from the stored rows, which are final now: beside the run folder's removal.
    summary = loadRunSummaryFacts(db, runId).then(renderRunSummary);
    void summary.catch(() => undefined);
  } finally {
    // A kept folder keeps its workspace mounted, so it stays where the run's reason says.
    if (!keepRunDir) {
      await ctx.workspaceVolume
        ?.unmount()
        .catch((error: unknown) =>
          log.error({ err: (error as Error).message }, "could not unmount the workspace"),
        );
    }
    if (!keepRunDir && (checkout !== undefined || (await exists(runDir)))) {
      await removeRunCheckout(runDir).catch((error: unknown) =>
        log.error({ err: (error as Error).message }, "could not remove the run folder"),
      );
    }
    await rm(ctx.socketDir, { recursive: true, force: true });
  }

  const summaryMarkdown = await summary;
  const { relay, pushed } = published;
  return {
    runId,
    outcome: parked ? "awaiting_approval" : outcome,
    reason: parked ? "waiting for a maintainer's decision on the agent's capability requests" : reason,
    summaryMarkdown,
    branch: pushed,
    commit: pushed === undefined ? undefined : relay?.commit,
    relay,
    sandbox,
  };

  async function finish(final: RunOutcome, why: string): Promise<void> {
    await ctx.audit("run.finished", { outcome: final, reason: why });
    await ctx.enter(final, { reason: why });
    log.info({ outcome: final, reason: why }, "run finished");
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
