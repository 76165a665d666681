import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/open-database.ts";
import { auditEvents } from "../db/schema.ts";

/**
 * The hash of a run's last ledger entry, or undefined when it has none. Not verified:
 * call verifyAuditChain first when the head is about to be published (commit trailer
 * `Airlock-Audit:`, PR summary).
 */
export async function auditHead(db: Db, runId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ hash: auditEvents.hash })
    .from(auditEvents)
    .where(eq(auditEvents.runId, runId))
    .orderBy(desc(auditEvents.seq))
    .limit(1);
  return row?.hash;
}
