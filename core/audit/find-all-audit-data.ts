import type { AuditEventType, ParsedAuditEventData } from "./audit-event-schemas.ts";
import { parseStoredAuditData, type StoredAuditEntry } from "./parse-stored-audit-data.ts";

/** The data of every entry of `type` in a run's ledger, in the order given, each parsed (parseStoredAuditData). */
export function findAllAuditData<T extends AuditEventType>(
  entries: readonly StoredAuditEntry[],
  type: T,
): ParsedAuditEventData<T>[] {
  return entries.filter((e) => e.type === type).map((e) => parseStoredAuditData(e, type));
}
