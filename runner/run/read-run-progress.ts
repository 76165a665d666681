import type { Db } from "../../core/db/open-database.ts";
import { getRun, sumRunUsage, type RunUsage } from "../../core/db/runs.ts";
import type { RunState } from "../../core/run-states.ts";

export interface RunProgress extends RunUsage {
  state: RunState | undefined;
}

/** A run's progress as the database has it (the proxy's committed rows), for the progress line. */
export async function readRunProgress(db: Db, runId: string): Promise<RunProgress> {
  const [run, usage] = await Promise.all([getRun(db, runId), sumRunUsage(db, runId)]);
  return { state: run?.state, ...usage.total };
}
