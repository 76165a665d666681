import { z } from "zod";
import { AirlockError } from "../errors.ts";
import { auditEventSchemas, type AuditEventType, type ParsedAuditEventData } from "./audit-event-schemas.ts";

/** A ledger row as readers load it (audit_events), enough to parse and to name it in an error. */
export interface StoredAuditEntry {
  runId: string;
  seq: number;
  type: string;
  data: unknown;
}

/**
 * The data of a stored entry of `type`, parsed with that type's schema. An entry that does
 * not fit its schema was not written by appendAuditEvent: refused with a typed error rather
 * than rendered from a guess.
 */
export function parseStoredAuditData<T extends AuditEventType>(
  entry: StoredAuditEntry,
  type: T,
): ParsedAuditEventData<T> {
  const parsed = auditEventSchemas[type].safeParse(entry.data);
  if (!parsed.success) {
    throw new AirlockError(
      "audit_event_malformed",
      `audit entry ${entry.seq} (${type}) of run ${entry.runId} does not have the shape of a ${type} entry: ` +
        `${z.prettifyError(parsed.error)}; check the ledger with \`airlock audit verify ${entry.runId}\``,
      { cause: parsed.error },
    );
  }
  return parsed.data as ParsedAuditEventData<T>;
}
