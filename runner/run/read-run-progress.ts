import { eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { llmCalls, runs } from "../../core/db/schema.ts";
import type { RunState } from "../../core/run-states.ts";

export interface RunProgress {
  state: RunState | undefined;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: string;
}

/** A run's progress as the database has it (the proxy's committed rows), for the progress line. */
export async function readRunProgress(db: Db, runId: string): Promise<RunProgress> {
  const [[run], [totals]] = await Promise.all([
    db.select({ state: runs.state }).from(runs).where(eq(runs.id, runId)),
    db
      .select({
        calls: sql<number>`count(*)::int`,
        inputTokens: sql<number>`coalesce(sum(${llmCalls.inputTokens}), 0)::bigint`,
        outputTokens: sql<number>`coalesce(sum(${llmCalls.outputTokens}), 0)::bigint`,
        costUsd: sql<string>`coalesce(sum(${llmCalls.costUsd}), 0)::text`,
      })
      .from(llmCalls)
      .where(eq(llmCalls.runId, runId)),
  ]);
  return {
    state: run?.state,
    calls: Number(totals?.calls ?? 0),
    inputTokens: Number(totals?.inputTokens ?? 0),
    outputTokens: Number(totals?.outputTokens ?? 0),
    costUsd: totals?.costUsd ?? "0",
  };
}
