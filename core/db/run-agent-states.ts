import { eq, sql } from "drizzle-orm";
import type { Db } from "./open-database.ts";
import { runAgentStates, type RunAgentState } from "./schema.ts";

/**
 * The agent's saved private state (issue 10 §2): written when a run parks, read when any
 * runner resumes it. One row per run, replaced by each pause.
 */
export async function saveRunAgentState(db: Db, input: Omit<RunAgentState, "savedAt">): Promise<void> {
  await db
    .insert(runAgentStates)
    .values(input)
    .onConflictDoUpdate({
      target: runAgentStates.runId,
      set: {
        segment: input.segment,
        archive: input.archive,
        bytes: input.bytes,
        files: input.files,
        sha256: input.sha256,
        savedAt: sql`now()`,
      },
    });
}

export async function loadRunAgentState(db: Db, runId: string): Promise<RunAgentState | undefined> {
  const [row] = await db.select().from(runAgentStates).where(eq(runAgentStates.runId, runId));
  return row;
}
