import { z } from "zod";
import { AirlockError } from "../errors.ts";
import { auditEventSchemas, type AuditEventType, type ParsedAuditEventData } from "./audit-event-schemas.ts";

interface StoredEntry {
  runId: string;
  seq: number;
  type: string;
  data: unknown;
}

/**
 * The data of the last entry of `type` in a run's ledger (entries in seq order), parsed
 * with that type's schema; undefined when there is none. An entry that does not fit its
 * schema was not written by appendAuditEvent: refused with a typed error rather than
 * rendered from a guess.
 */
export function findLastAuditData<T extends AuditEventType>(
  entries: readonly StoredEntry[],
  type: T,
): ParsedAuditEventData<T> | undefined {
  const entry = entries.findLast((e) => e.type === type);
  if (!entry) return undefined;
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
