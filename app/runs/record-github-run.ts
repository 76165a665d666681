import { sql } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import type { AuditEventData } from "../../core/audit/audit-event-schemas.ts";
import type { Db } from "../../core/db/open-database.ts";
import type { NewRun, Run } from "../../core/db/schema.ts";
import { insertRun, leaseRunToApp } from "../../core/db/runs.ts";
import { grantPreApprovedCapabilities } from "../../core/db/capability-requests.ts";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import { findActiveRuns } from "./find-active-runs.ts";
import { recordDelivery, type DeliveryRecord } from "./record-delivery.ts";
import { describeRunScope, type RunScope } from "./run-scope.ts";

export type RecordRunOutcome =
  { kind: "duplicate" } | { kind: "active"; run: Run } | { kind: "created"; run: Run };

/**
 * The delivery, the run and its `run.requested` audit entry, in one transaction: a crash
 * leaves either nothing (GitHub's redelivery starts the run) or all three, never a run
 * without its delivery (a redelivery would start it twice). The scope's advisory lock makes
 * "one active run per issue" hold for two deliveries arriving at once.
 */
export async function recordGitHubRun(
  db: Db,
  input: {
    delivery: Omit<DeliveryRecord, "runId">;
    scope: RunScope;
    run: NewRun & { id: string };
    /** Lease the new run to the app this long (core/db/runs.ts, appLeaseOwner), keeping runners off it. */
    appLeaseSeconds?: number | undefined;
    audit: AuditEventData<"run.requested">;
    /** Granted entries of `.github/airlock/capabilities.yml` on the default branch: granted requests of the new run. */
    preapproved?: readonly CapabilitySpec[] | undefined;
    secret: string;
  },
): Promise<RecordRunOutcome> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${describeRunScope(input.scope)}))`);
    const [active] = await findActiveRuns(tx, input.scope);
    const delivered = await recordDelivery(tx, {
      ...input.delivery,
      runId: active ? undefined : input.run.id,
    });
    if (!delivered) return { kind: "duplicate" };
    if (active) return { kind: "active", run: active };
    let run = await insertRun(tx, input.run);
    if (input.appLeaseSeconds !== undefined) {
      run = (await leaseRunToApp(tx, run.id, input.appLeaseSeconds)) ?? run;
    }
    await appendAuditEvent(tx, {
      runId: run.id,
      type: "run.requested",
      data: input.audit,
      secret: input.secret,
    });
    // In the same transaction: a run never starts without the grants its repository pre-approved.
    await grantPreApprovedCapabilities(tx, {
      runId: run.id,
      grants: input.preapproved ?? [],
      by: "pre-approved",
      reason: "pre-approved in .github/airlock/capabilities.yml on the default branch",
      secret: input.secret,
    });
    return { kind: "created", run };
  });
}
