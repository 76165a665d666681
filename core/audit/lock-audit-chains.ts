import { asc, desc, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/open-database.ts";
import { auditEvents, runs } from "../db/schema.ts";
import { AirlockError } from "../errors.ts";
import {
  auditEventSchemas,
  isAuditEventType,
  type AuditEventData,
  type AuditEventType,
} from "./audit-event-schemas.ts";
import { GENESIS_HASH, hashAuditEntry, signAuditHash } from "./hash-audit-entry.ts";

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

export interface LockedAuditChains {
  /** True when the run exists (its chain is now locked by this transaction). */
  has(runId: string): boolean;
  /**
   * Chain `events` in the given order (per run) after each run's current head, in one
   * insert. Every run named must be one of the locked ones.
   */
  append(events: readonly PendingAuditEvent[], at?: Date): Promise<AuditEntry[]>;
}

/**
 * Take the append lock of several runs' ledgers and read their heads: the one way entries
 * are added (appendAuditEvent for one, the call recorder for a batch of llm.call entries
 * that spans runs). Call it inside a transaction; the locks last until it ends.
 *
 * The lock is a row lock on the run (FOR NO KEY UPDATE, so foreign-key inserts into other
 * tables for that run, llm_calls included, are not blocked): two appends reading the same
 * head would otherwise fork the chain. Runs are locked in id order, so two batches naming
 * the same runs cannot deadlock. Heads are read by a statement after the locks are held,
 * so they see every append committed before. The unique (run_id, seq) index is the last
 * guard: hitting it means a writer went around this function.
 */
export async function lockAuditChains(
  tx: Db,
  runIds: readonly string[],
  secret: string,
): Promise<LockedAuditChains> {
  const wanted = [...new Set(runIds)].sort();
  const locked =
    wanted.length === 0
      ? []
      : await tx
          .select({ id: runs.id })
          .from(runs)
          .where(inArray(runs.id, wanted))
          .orderBy(asc(runs.id))
          .for("no key update");
  const heads = new Map<string, { seq: number; hash: string }>(
    locked.map((r) => [r.id, { seq: 0, hash: GENESIS_HASH }]),
  );
  if (heads.size > 0) {
    const rows = await tx
      .selectDistinctOn([auditEvents.runId], {
        runId: auditEvents.runId,
        seq: auditEvents.seq,
        hash: auditEvents.hash,
      })
      .from(auditEvents)
      .where(inArray(auditEvents.runId, [...heads.keys()]))
      .orderBy(asc(auditEvents.runId), desc(auditEvents.seq));
    for (const row of rows) heads.set(row.runId, { seq: row.seq, hash: row.hash });
  }

  return {
    has: (runId) => heads.has(runId),
    async append(events, at = new Date()) {
      const when = new Date(at.getTime());
      if (Number.isNaN(when.getTime())) {
        throw new AirlockError("audit_invalid_event", "audit event: `at` is not a valid date");
      }
      const entries: AuditEntry[] = [];
      for (const event of events) {
        const head = heads.get(event.runId);
        if (!head) {
          throw new AirlockError(
            "unknown_run",
            `cannot append audit event ${event.type}: run ${event.runId} does not exist (record the run first)`,
          );
        }
        const data = checkAuditData(event.type, event.data);
        const seq = head.seq + 1;
        const prevHash = head.hash;
        const hash = hashAuditEntry({ runId: event.runId, seq, at: when, type: event.type, data, prevHash });
        entries.push({
          runId: event.runId,
          seq,
          at: when,
          type: event.type,
          data,
          prevHash,
          hash,
          hmac: signAuditHash(secret, hash),
        });
        heads.set(event.runId, { seq, hash });
      }
      if (entries.length > 0) await insertEntries(tx, entries);
      return entries;
    },
  };
}

/** One statement whatever the count: a multi-row insert through the query builder costs more CPU per row. */
async function insertEntries(tx: Db, entries: readonly AuditEntry[]): Promise<void> {
  const rows = entries.map((e) => ({
    run_id: e.runId,
    seq: e.seq,
    at: e.at.toISOString(),
    type: e.type,
    data: e.data,
    prev_hash: e.prevHash,
    hash: e.hash,
    hmac: e.hmac,
  }));
  await tx.execute(
    sql`insert into audit_events (run_id, seq, at, type, data, prev_hash, hash, hmac)
        select run_id, seq, at, type, data, prev_hash, hash, hmac
        from json_populate_recordset(null::audit_events, ${JSON.stringify(rows)}::json)`,
  );
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
