import type { Db } from "../db/open-database.ts";
import { AirlockError } from "../errors.ts";
import type { AuditEventData, AuditEventType } from "./audit-event-schemas.ts";
import { lockAuditChains, type AuditEntry, type PendingAuditEvent } from "./lock-audit-chains.ts";

export interface AppendAuditEventInput<T extends AuditEventType> {
  runId: string;
  /** A type of core/audit/audit-event-schemas.ts; any other is refused. */
  type: T;
  /** Must fit the type's schema; stored and hashed as its JSON round-trip (undefined dropped). */
  data: AuditEventData<T>;
  /** AIRLOCK_TOKEN_SECRET: the entry's HMAC is keyed with the ledger key derived from it. */
  secret: string;
  /** Defaults to now. Kept at millisecond precision, which is what gets hashed. */
  at?: Date;
}

/**
 * Append the next entry of a run's hash chain. Seq starts at 1; the first entry's
 * prev_hash is GENESIS_HASH. Serialized per run by lockAuditChains' row lock.
 */
export async function appendAuditEvent<T extends AuditEventType>(
  db: Db,
  input: AppendAuditEventInput<T>,
): Promise<AuditEntry> {
  const event = { runId: input.runId, type: input.type, data: input.data } as PendingAuditEvent;
  try {
    return await db.transaction(async (tx) => {
      const chains = await lockAuditChains(tx, [input.runId], input.secret);
      const [entry] = await chains.append([event], input.at);
      if (!entry)
        throw new AirlockError("audit_write_failed", `audit insert for run ${input.runId} returned nothing`);
      return entry;
    });
  } catch (error) {
    if (hasPostgresCode(error, "23505")) {
      throw new AirlockError(
        "audit_conflict",
        `audit chain of run ${input.runId}: another writer took the next seq without the run lock; ` +
          "every append must go through lockAuditChains",
        { cause: error },
      );
    }
    throw error;
  }
}

/** Drivers wrap Postgres errors differently (drizzle wraps in a query error); look down the cause chain. */
function hasPostgresCode(error: unknown, code: string): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}
