import { and, asc, notInArray } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs, type Run } from "../../core/db/schema.ts";
import { terminalRunStates } from "../../core/run-states.ts";
import { matchRunScope, type RunScope } from "./run-scope.ts";

/** Runs of the scope that have not ended, oldest first. */
export async function findActiveRuns(db: Db, scope: RunScope): Promise<Run[]> {
  return db
    .select()
    .from(runs)
    .where(and(matchRunScope(scope), notInArray(runs.state, [...terminalRunStates])))
    .orderBy(asc(runs.createdAt));
}
