import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs } from "../../core/db/schema.ts";

/** Gives the run back: done with it (published), or handing it to the next runner. */
export async function releaseRunLease(db: Db, options: { runId: string; runnerId: string }): Promise<void> {
  await db
    .update(runs)
    .set({ leaseOwner: null, leaseExpiresAt: null, updatedAt: sql`now()` })
    .where(and(eq(runs.id, options.runId), eq(runs.leaseOwner, options.runnerId)));
}
