import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { appendRunEvent } from "../../core/db/runs.ts";
import { runEvents, runs } from "../../core/db/schema.ts";

/**
 * Notes a failed attempt to put a finished run on GitHub. The run stays claimable (its lease
 * lapses and another try follows) until `maxFailures`; then it is marked published anyway,
 * with the reason, so a pull request GitHub keeps refusing (a deleted branch, an archived
 * repository) does not cost an API call every lease for ever. The run, its ledger and its
 * branch stay; `airlock audit export` still has everything.
 */
export async function recordPublishFailure(
  db: Db,
  options: { runId: string; error: string; maxFailures: number },
): Promise<{ failures: number; gaveUp: boolean }> {
  return db.transaction(async (tx) => {
    await appendRunEvent(tx, options.runId, "github.publish_failed", { error: options.error });
    const [row] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(runEvents)
      .where(and(eq(runEvents.runId, options.runId), eq(runEvents.type, "github.publish_failed")));
    const failures = Number(row?.n ?? 0);
    if (failures < options.maxFailures) return { failures, gaveUp: false };
    await tx
      .update(runs)
      .set({ publishedAt: sql`now()` })
      .where(eq(runs.id, options.runId));
    await appendRunEvent(tx, options.runId, "github.publish_abandoned", {
      failures,
      lastError: options.error,
    });
    return { failures, gaveUp: true };
  });
}
