import type { CapabilityKind, CapabilityState } from "../capabilities/capability-kinds.ts";
import { countCapabilityRequests } from "../db/capability-requests.ts";
import type { Db } from "../db/open-database.ts";
import { countClaimableRuns, countRunsByState } from "../db/runs.ts";
import type { RunState } from "../run-states.ts";

/** What the database says now, for the gauges every process serves (issue 13 §3). */
export interface StoredFigures {
  runsByState: { state: RunState; runs: number }[];
  queueDepth: number;
  capabilityRequests: { kind: CapabilityKind; state: CapabilityState; requests: number }[];
}

/**
 * Counts from the shared database rather than from one process's counters, so every app and
 * runner reports the same numbers (a dashboard takes the max) and a restart loses nothing.
 */
export async function readStoredFigures(db: Db): Promise<StoredFigures> {
  const [runsByState, queueDepth, capabilityRequests] = await Promise.all([
    countRunsByState(db),
    countClaimableRuns(db),
    countCapabilityRequests(db),
  ]);
  return { runsByState, queueDepth, capabilityRequests };
}
