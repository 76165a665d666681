import { and, desc, isNull } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs, type Run } from "../../core/db/schema.ts";
import { matchRunScope, type RunScope } from "./run-scope.ts";

/**
 * The most recent run of a scope. For an issue, follow-ups on its pull request are left out
 * unless asked for: retrying an issue means running the task again.
 */
export async function findLatestRun(
  db: Db,
  scope: RunScope,
  options: { includeFollowUps?: boolean } = {},
): Promise<Run | undefined> {
  const onlyOriginal = scope.kind === "issue" && options.includeFollowUps !== true;
  const [row] = await db
    .select()
    .from(runs)
    .where(onlyOriginal ? and(matchRunScope(scope), isNull(runs.followUpOf)) : matchRunScope(scope))
    .orderBy(desc(runs.createdAt), desc(runs.id))
    .limit(1);
  return row;
}
