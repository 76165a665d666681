import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/open-database.ts";
import { getRun, listRunCalls, listRunEvents } from "../db/runs.ts";
import { listCapabilityRequests } from "../db/capability-requests.ts";
import {
  auditEvents,
  type AuditEvent,
  type CapabilityRequest,
  type LlmCall,
  type Run,
} from "../db/schema.ts";
import { AirlockError } from "../errors.ts";
import { summarizeRunPhases, type SegmentPhases } from "./summarize-run-phases.ts";

/** Everything a run's summary is computed from: the stored rows, never a process's counters. */
export interface RunSummaryFacts {
  run: Run;
  /** In id order (the order the proxy finished them). */
  calls: LlmCall[];
  /** In seq order. */
  audit: AuditEvent[];
  /** What the agent asked for and what became of it (issue 10), oldest first. */
  capabilities?: CapabilityRequest[] | undefined;
  /** Where the run's time went, per segment (issue 15), from its run events. */
  phases?: SegmentPhases[] | undefined;
}

export async function loadRunSummaryFacts(db: Db, runId: string): Promise<RunSummaryFacts> {
  const run = await getRun(db, runId);
  if (!run)
    throw new AirlockError(
      "unknown_run",
      `run ${runId} does not exist; check the id (airlock runs are in the runs table)`,
    );
  const [calls, audit, capabilities, events] = await Promise.all([
    listRunCalls(db, runId),
    db.select().from(auditEvents).where(eq(auditEvents.runId, runId)).orderBy(asc(auditEvents.seq)),
    listCapabilityRequests(db, runId),
    listRunEvents(db, runId),
  ]);
  return { run, calls, audit, capabilities, phases: summarizeRunPhases(events) };
}
