import { and, asc, notInArray } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs, type Run } from "../../core/db/schema.ts";
import { terminalRunStates } from "../../core/run-states.ts";
import { matchRunScope, type RunScope } from "./run-scope.ts";

/**
 * Runs of the scope that have not ended, oldest first. `lock` takes their row locks (inside a
 * transaction): a runner's claim (`FOR UPDATE SKIP LOCKED`) then cannot slip in between
 * reading a run as unclaimed and acting on that.
 */
export async function findActiveRuns(
  db: Db,
  scope: RunScope,
  options: { lock?: boolean } = {},
): Promise<Run[]> {
  const query = db
    .select()
    .from(runs)
    .where(and(matchRunScope(scope), notInArray(runs.state, [...terminalRunStates])))
    .orderBy(asc(runs.createdAt));
  return options.lock ? query.for("update") : query;
}
