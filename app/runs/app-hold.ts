import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs } from "../../core/db/schema.ts";

/**
 * A new run is recorded with a short lease held by the app, released once its tracking
 * comment is posted. Without it a runner could claim the run in between and post a second
 * tracking comment, leaving the app's one stuck at "queued". If the app dies first, the
 * hold lapses and a runner claims the run as usual (and posts the comment itself).
 */
export const appHoldOwner = "airlock-app";
export const appHoldSeconds = 30;

export async function releaseAppHold(
  db: Db,
  runId: string,
  trackingCommentId: number | undefined,
): Promise<void> {
  await db
    .update(runs)
    .set({
      leaseOwner: null,
      leaseExpiresAt: null,
      ...(trackingCommentId !== undefined
        ? { trackingCommentId: sql`coalesce(${runs.trackingCommentId}, ${trackingCommentId})` }
        : {}),
    })
    .where(and(eq(runs.id, runId), eq(runs.leaseOwner, appHoldOwner)));
}
