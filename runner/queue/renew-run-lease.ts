import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs } from "../../core/db/schema.ts";

export interface LeaseStatus {
  /** False when another runner took the run (this one was presumed dead): stop at once. */
  held: boolean;
  /** A maintainer asked to stop the run (`/airlock stop`). */
  cancelRequested: boolean;
  cancelRequestedBy: string | undefined;
}

/** Extends the lease while the run is worked on; the answer also carries a pending stop request. */
export async function renewRunLease(
  db: Db,
  options: { runId: string; runnerId: string; leaseS: number },
): Promise<LeaseStatus> {
  const [row] = await db
    .update(runs)
    .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${options.leaseS})` })
    .where(and(eq(runs.id, options.runId), eq(runs.leaseOwner, options.runnerId)))
    .returning({ cancelRequestedAt: runs.cancelRequestedAt, cancelRequestedBy: runs.cancelRequestedBy });
  if (row === undefined) return { held: false, cancelRequested: false, cancelRequestedBy: undefined };
  return {
    held: true,
    cancelRequested: row.cancelRequestedAt !== null,
    cancelRequestedBy: row.cancelRequestedBy ?? undefined,
  };
}
