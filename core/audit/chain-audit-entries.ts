import { z } from "zod";
import { AirlockError } from "../errors.ts";
import {
  auditEventSchemas,
  isAuditEventType,
  type AuditEventData,
  type AuditEventType,
} from "./audit-event-schemas.ts";
import { hashAuditEntry, signAuditHash } from "./hash-audit-entry.ts";

/** An event to chain; `data` is checked against its type's schema before anything is written. */
export type PendingAuditEvent = {
  [T in AuditEventType]: { runId: string; type: T; data: AuditEventData<T> };
}[AuditEventType];

/** An entry as written (the database's row id aside). */
export interface AuditEntry {
  runId: string;
  seq: number;
  at: Date;
  type: AuditEventType;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
  hmac: string;
}

/** The last entry of a run's chain: seq 0 and GENESIS_HASH when it has none. */
export interface AuditChainHead {
  seq: number;
  hash: string;
}

/**
 * The entries that chain `events` (in the given order, per run) after each run's head,
 * hashed and signed, and `heads` moved on to them. Pure: the caller holds the runs' chain
 * locks (lockAuditChains) and writes the entries in the same transaction. Throws before
 * anything is built when an event names a run without a head (not locked, or unknown) or
 * does not fit its type's schema.
 */
export function chainAuditEntries(
  heads: Map<string, AuditChainHead>,
  events: readonly PendingAuditEvent[],
  at: Date,
  secret: string,
): AuditEntry[] {
  const when = new Date(at.getTime());
  if (Number.isNaN(when.getTime())) {
    throw new AirlockError("audit_invalid_event", "audit event: `at` is not a valid date");
  }
  const checked = events.map((event) => {
    if (!heads.has(event.runId)) {
      throw new AirlockError(
        "unknown_run",
        `cannot append audit event ${event.type}: run ${event.runId} does not exist (record the run first)`,
      );
    }
    return { event, data: checkAuditData(event.type, event.data) };
  });
  return checked.map(({ event, data }) => {
    const head = heads.get(event.runId)!;
    const seq = head.seq + 1;
    const prevHash = head.hash;
    const hash = hashAuditEntry({ runId: event.runId, seq, at: when, type: event.type, data, prevHash });
    heads.set(event.runId, { seq, hash });
    return {
      runId: event.runId,
      seq,
      at: when,
      type: event.type,
      data,
      prevHash,
      hash,
      hmac: signAuditHash(secret, hash),
    };
  });
}

/**
 * The data as it will be stored and hashed (its JSON round trip: undefined dropped, as
 * jsonb would), refused unless the type is known and the data fits its schema.
 */
function checkAuditData(type: string, data: unknown): Record<string, unknown> {
  if (!isAuditEventType(type)) {
    throw new AirlockError(
      "audit_invalid_event",
      `audit event type ${JSON.stringify(type)} is not known; add it with its data schema to core/audit/audit-event-schemas.ts`,
    );
  }
  let normalized: unknown;
  try {
    normalized = JSON.parse(JSON.stringify(data ?? null)) as unknown;
  } catch (error) {
    throw new AirlockError("audit_invalid_event", `audit event ${type}: data is not JSON-serializable`, {
      cause: error,
    });
  }
  if (normalized === null || typeof normalized !== "object" || Array.isArray(normalized)) {
    throw new AirlockError("audit_invalid_event", `audit event ${type}: data must be a JSON object`);
  }
  const parsed = auditEventSchemas[type].safeParse(normalized);
  if (!parsed.success) {
    throw new AirlockError(
      "audit_invalid_event",
      `audit event ${type}: data does not fit its schema (core/audit/audit-event-schemas.ts): ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return normalized as Record<string, unknown>;
}
