import type { AuditEventType, ParsedAuditEventData } from "./audit-event-schemas.ts";
import { parseStoredAuditData, type StoredAuditEntry } from "./parse-stored-audit-data.ts";

/**
 * The data of the last entry of `type` in a run's ledger (entries in seq order), parsed
 * with that type's schema (parseStoredAuditData); undefined when there is none.
 */
export function findLastAuditData<T extends AuditEventType>(
  entries: readonly StoredAuditEntry[],
  type: T,
): ParsedAuditEventData<T> | undefined {
  const entry = entries.findLast((e) => e.type === type);
  return entry && parseStoredAuditData(entry, type);
}
