import { and, asc, eq, inArray, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs, type Run } from "../../core/db/schema.ts";
import { terminalRunStates } from "../../core/run-states.ts";

export interface ClaimRunOptions {
  runnerId: string;
  leaseS: number;
}

/**
 * Claims the oldest GitHub run that needs a runner (DESIGN §1 step 2): one that is queued,
 * one whose runner's lease lapsed mid-run (that runner died), or one that finished but whose
 * result is not on GitHub yet. `FOR UPDATE SKIP LOCKED` lets any number of runners, on any
 * number of machines, claim from one table without two ever getting the same row.
 *
 * A claim of an unfinished run raises `attempt`: run tokens name the attempt, so an agent
 * left running by a dead runner cannot spend on the new attempt's budget.
 */
export async function claimRun(db: Db, options: ClaimRunOptions): Promise<Run | undefined> {
  const terminal = [...terminalRunStates];
  const claimable = db
    .select({ id: runs.id })
    .from(runs)
    .where(
      and(
        eq(runs.kind, "github"),
        or(isNull(runs.leaseExpiresAt), lt(runs.leaseExpiresAt, sql`now()`)),
        or(notInArray(runs.state, terminal), isNull(runs.publishedAt)),
      ),
    )
    .orderBy(asc(runs.createdAt))
    .limit(1)
    .for("update", { skipLocked: true });
  const [claimed] = await db
    .update(runs)
    .set({
      leaseOwner: options.runnerId,
      leaseExpiresAt: sql`now() + make_interval(secs => ${options.leaseS})`,
      attempt: sql`case when ${inArray(runs.state, terminal)} then ${runs.attempt} else ${runs.attempt} + 1 end`,
      updatedAt: sql`now()`,
    })
    .where(inArray(runs.id, claimable))
    .returning();
  return claimed;
}
