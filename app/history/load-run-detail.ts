import { findLastAuditData } from "../../core/audit/find-last-audit-data.ts";
import type { AuditEventType, ParsedAuditEventData } from "../../core/audit/audit-event-schemas.ts";
import { verifyAuditEntries, type AuditVerification } from "../../core/audit/verify-audit-chain.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import type { Db } from "../../core/db/open-database.ts";
import { listRunEvents } from "../../core/db/runs.ts";
import type { CapabilityRequest, LlmCall, Run } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import { loadRunSummaryFacts } from "../../core/summary/load-run-summary-facts.ts";
import { sumRunFigures, type RunFigures } from "../../core/summary/sum-run-figures.ts";
import { buildRunTimeline, type TimelineEntry } from "./build-run-timeline.ts";

/** A ledger entry's parsed data, or why it could not be read. */
export type AuditReading<T extends AuditEventType> =
  { found: true; data: ParsedAuditEventData<T> } | { found: false; problem: string | undefined };

export interface RunDetail {
  run: Run;
  /** run_events, capability requests and decisions, and the image, in time order. */
  timeline: TimelineEntry[];
  capabilities: CapabilityRequest[];
  calls: LlmCall[];
  figures: RunFigures;
  image: AuditReading<"image.ready">;
  committed: AuditReading<"relay.committed">;
  /** The ledger checked now, with the same verifier as `airlock audit verify`. */
  verification: AuditVerification;
  /** The `Airlock-Audit:` trailer's hash, checked as a checkpoint when the relay committed. */
  checkpoint: string | undefined;
}

/**
 * Everything the run page shows, read from the stored rows at request time. The ledger is
 * verified on every view (not a cached verdict): a row changed since the run ended shows
 * as broken the next time anyone looks. Undefined for a run the database does not know.
 */
export async function loadRunDetail(db: Db, runId: string, secret: string): Promise<RunDetail | undefined> {
  let facts;
  try {
    facts = await loadRunSummaryFacts(db, runId);
  } catch (error) {
    if (error instanceof AirlockError && error.code === "unknown_run") return undefined;
    throw error;
  }
  const [events, capabilities] = await Promise.all([
    listRunEvents(db, runId),
    listCapabilityRequests(db, runId),
  ]);
  const committed = readAudit(facts.audit, "relay.committed");
  const image = readAudit(facts.audit, "image.ready");
  const imageAt = facts.audit.findLast((entry) => entry.type === "image.ready")?.at;
  const checkpoint = committed.found ? (committed.data.auditHeadInTrailer ?? undefined) : undefined;
  return {
    run: facts.run,
    timeline: buildRunTimeline({
      events,
      capabilities,
      image: image.found && imageAt ? { at: imageAt, ref: image.data.ref, id: image.data.id } : undefined,
    }),
    capabilities,
    calls: facts.calls,
    figures: sumRunFigures(facts.calls),
    image,
    committed,
    verification: verifyAuditEntries(runId, facts.audit, secret, { expectedHead: checkpoint }),
    checkpoint,
  };
}

function readAudit<T extends AuditEventType>(
  entries: Parameters<typeof findLastAuditData>[0],
  type: T,
): AuditReading<T> {
  try {
    const data = findLastAuditData(entries, type);
    return data === undefined ? { found: false, problem: undefined } : { found: true, data };
  } catch (error) {
    // A malformed entry is shown as such beside the chain's verdict, not as a server error.
    if (error instanceof AirlockError && error.code === "audit_event_malformed") {
      return { found: false, problem: error.message };
    }
    throw error;
  }
}
