import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "./open-database.ts";
import { llmCalls, runEvents, runs, type LlmCall, type NewRun, type Run, type RunEvent } from "./schema.ts";
import type { RunState } from "../run-states.ts";
import { isTerminalRunState } from "../run-states.ts";

/** Queries on the run aggregate. Every function takes `db` first. */

export async function insertRun(db: Db, run: NewRun): Promise<Run> {
  const [row] = await db.insert(runs).values(run).returning();
  if (!row) throw new Error(`insert of run ${run.id} returned nothing`);
  return row;
}

/** Insert unless a run with this id exists; returns the stored row either way. */
export async function ensureRun(db: Db, run: NewRun): Promise<{ run: Run; created: boolean }> {
  const inserted = await db.insert(runs).values(run).onConflictDoNothing({ target: runs.id }).returning();
  if (inserted[0]) return { run: inserted[0], created: true };
  const existing = await getRun(db, run.id);
  if (!existing) throw new Error(`run ${run.id} vanished during insert`);
  return { run: existing, created: false };
}

export async function getRun(db: Db, id: string): Promise<Run | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id));
  return row;
}

/**
 * Move a run to a new state and record the change as an event, in one transaction.
 * A run already in a terminal state is left as it is (returns false). With `attempt`, the
 * change is made only while the run is still on that attempt: a runner that lost its lease
 * (another runner re-claimed the run, raising the attempt) cannot end the new attempt's work.
 */
export async function setRunState(
  db: Db,
  id: string,
  state: RunState,
  data: Record<string, unknown> = {},
  options: { attempt?: number | undefined } = {},
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ state: runs.state, attempt: runs.attempt })
      .from(runs)
      .where(eq(runs.id, id))
      .for("update");
    if (!current || isTerminalRunState(current.state)) return false;
    if (options.attempt !== undefined && current.attempt !== options.attempt) return false;
    const terminal = isTerminalRunState(state);
    await tx
      .update(runs)
      .set({
        state,
        updatedAt: sql`now()`,
        ...(state === "running" ? { startedAt: sql`coalesce(${runs.startedAt}, now())` } : {}),
        ...(terminal
          ? { finishedAt: sql`now()`, outcomeReason: (data.reason as string | undefined) ?? null }
          : {}),
      })
      .where(and(eq(runs.id, id)));
    await tx
      .insert(runEvents)
      .values({ runId: id, type: `state.${state}`, data: { from: current.state, ...data } });
    return true;
  });
}

export async function appendRunEvent(
  db: Db,
  runId: string,
  type: string,
  data: Record<string, unknown> = {},
): Promise<void> {
  await db.insert(runEvents).values({ runId, type, data });
}

export async function listRunEvents(db: Db, runId: string): Promise<RunEvent[]> {
  return db.select().from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.id));
}

/** The run's LLM calls, in the order the proxy recorded them. */
export async function listRunCalls(db: Db, runId: string): Promise<LlmCall[]> {
  return db.select().from(llmCalls).where(eq(llmCalls.runId, runId)).orderBy(asc(llmCalls.id));
}
