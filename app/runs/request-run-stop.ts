import { sql } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import type { Db } from "../../core/db/open-database.ts";
import { appLeaseOwner, requestRunCancel, setRunState } from "../../core/db/runs.ts";
import { closePendingCapabilityRequests } from "../../core/db/capability-requests.ts";
import { findActiveRuns } from "./find-active-runs.ts";
import { recordDelivery, type DeliveryRecord } from "./record-delivery.ts";
import { describeRunScope, type RunScope } from "./run-scope.ts";

export type StopOutcome =
  { kind: "duplicate" } | { kind: "requested"; runIds: string[]; cancelledAtOnce: string[] };

/**
 * `/airlock stop`: marks every active run of the scope; the runner holding one stops its
 * container. A run still queued and unclaimed, or parked for a capability decision, has
 * no runner to tell, so it is cancelled here and the runner only publishes it.
 */
export async function requestRunStop(
  db: Db,
  input: { delivery: Omit<DeliveryRecord, "runId">; scope: RunScope; by: string; secret: string },
): Promise<StopOutcome> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${describeRunScope(input.scope)}))`);
    if (!(await recordDelivery(tx, input.delivery))) return { kind: "duplicate" };
    const active = await findActiveRuns(tx, input.scope, { lock: true });
    const cancelledAtOnce: string[] = [];
    for (const run of active) {
      await requestRunCancel(tx, run.id, input.by);
      await appendAuditEvent(tx, {
        runId: run.id,
        type: "run.cancel_requested",
        data: { by: input.by },
        secret: input.secret,
      });
      // A parked run (issue 10) has no runner either: it ends here, its requests undecided.
      const parked = run.state === "awaiting_approval" && run.leaseOwner === null;
      if (parked) {
        await closePendingCapabilityRequests(tx, {
          runId: run.id,
          state: "failed",
          by: input.by,
          reason: "the run was stopped before a decision",
          secret: input.secret,
        });
      }
      if (
        parked ||
        (run.state === "queued" && (run.leaseOwner === null || run.leaseOwner === appLeaseOwner))
      ) {
        const reason = parked
          ? `stopped by @${input.by} while it waited for a capability decision; its work so far is on its branch`
          : `stopped by @${input.by} before it started`;
        await appendAuditEvent(tx, {
          runId: run.id,
          type: "run.finished",
          data: { outcome: "cancelled", reason },
          secret: input.secret,
        });
        await setRunState(tx, run.id, "cancelled", { reason });
        cancelledAtOnce.push(run.id);
      }
    }
    return { kind: "requested", runIds: active.map((r) => r.id), cancelledAtOnce };
  });
}
