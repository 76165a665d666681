import { desc, eq } from "drizzle-orm";
import type { Db } from "../db/open-database.ts";
import { auditEvents, runs, type AuditEvent } from "../db/schema.ts";
import { AirlockError } from "../errors.ts";
import { GENESIS_HASH, hashAuditEntry, signAuditHash } from "./hash-audit-entry.ts";

export interface AppendAuditEventInput {
  runId: string;
  /** Dotted event name, e.g. `run.started`, `llm.call`, `container.exited`. */
  type: string;
  /** JSON-serializable; stored and hashed as its JSON round-trip (undefined dropped). */
  data?: Record<string, unknown>;
  /** AIRLOCK_TOKEN_SECRET: keys the entry's HMAC. */
  secret: string;
  /** Defaults to now. Kept at millisecond precision, which is what gets hashed. */
  at?: Date;
}

/**
 * Append the next entry of a run's hash chain. Seq starts at 1; the first entry's
 * prev_hash is GENESIS_HASH.
 *
 * Appends to one run are serialized by a row lock on the run (FOR NO KEY UPDATE, so
 * foreign-key inserts into other tables for that run are not blocked): two concurrent
 * appends reading the same head would otherwise fork the chain. The unique
 * (run_id, seq) index is the last guard; hitting it means a writer bypassed this function.
 */
export async function appendAuditEvent(db: Db, input: AppendAuditEventInput): Promise<AuditEvent> {
  const data = normalizeData(input.data ?? {}, input.type);
  const at = new Date(input.at?.getTime() ?? Date.now());
  if (Number.isNaN(at.getTime())) {
    throw new AirlockError("audit_invalid_event", `audit event ${input.type}: \`at\` is not a valid date`);
  }
  try {
    return await db.transaction(async (tx) => {
      const [run] = await tx
        .select({ id: runs.id })
        .from(runs)
        .where(eq(runs.id, input.runId))
        .for("no key update");
      if (!run) {
        throw new AirlockError(
          "unknown_run",
          `cannot append audit event ${input.type}: run ${input.runId} does not exist (record the run first)`,
        );
      }
      const [previous] = await tx
        .select({ seq: auditEvents.seq, hash: auditEvents.hash })
        .from(auditEvents)
        .where(eq(auditEvents.runId, input.runId))
        .orderBy(desc(auditEvents.seq))
        .limit(1);
      const seq = (previous?.seq ?? 0) + 1;
      const prevHash = previous?.hash ?? GENESIS_HASH;
      const hash = hashAuditEntry({ runId: input.runId, seq, at, type: input.type, data, prevHash });
      const [row] = await tx
        .insert(auditEvents)
        .values({
          runId: input.runId,
          seq,
          at,
          type: input.type,
          data,
          prevHash,
          hash,
          hmac: signAuditHash(input.secret, hash),
        })
        .returning();
      if (!row)
        throw new AirlockError("audit_write_failed", `audit insert for run ${input.runId} returned nothing`);
      return row;
    });
  } catch (error) {
    if (hasPostgresCode(error, "23505")) {
      throw new AirlockError(
        "audit_conflict",
        `audit chain of run ${input.runId}: another writer took the next seq without the run lock; ` +
          "every append must go through appendAuditEvent",
        { cause: error },
      );
    }
    throw error;
  }
}

function normalizeData(data: Record<string, unknown>, type: string): Record<string, unknown> {
  let normalized: unknown;
  try {
    normalized = JSON.parse(JSON.stringify(data));
  } catch (error) {
    throw new AirlockError("audit_invalid_event", `audit event ${type}: data is not JSON-serializable`, {
      cause: error,
    });
  }
  if (normalized === null || typeof normalized !== "object" || Array.isArray(normalized)) {
    throw new AirlockError("audit_invalid_event", `audit event ${type}: data must be a JSON object`);
  }
  return normalized as Record<string, unknown>;
}

/** Drivers wrap Postgres errors differently (drizzle wraps in a query error); look down the cause chain. */
function hasPostgresCode(error: unknown, code: string): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}
