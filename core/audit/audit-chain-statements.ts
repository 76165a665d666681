import { sql, type SQL } from "drizzle-orm";
import { AirlockError } from "../errors.ts";
import type { AuditEntry } from "./chain-audit-entries.ts";

/**
 * The statements that lock runs' chains, read their heads and write entries, as SQL text
 * with one parameter ($1, JSON text), so that lockAuditChains (through drizzle) and the
 * proxy's pipelined call writer (postgres.js, runner/proxy/write-call-batch.ts) run the
 * very same statements.
 */
export const auditChainStatements = {
  /**
   * $1: a JSON array of run ids. Locks in id order, so two writers naming the same runs
   * cannot deadlock. FOR NO KEY UPDATE: foreign-key inserts for the run (llm_calls rows,
   * entries) are not blocked by it, only other chain writers.
   */
  lockRuns: `select id from runs where id in (select json_array_elements_text($1::text::json)) order by id for no key update`,
  /**
   * $1: a JSON array of run ids; one row per run that has entries. One index probe per
   * run (newest seq first, limit 1): a DISTINCT ON over the run's entries reads all of
   * them, 36 ms per read for a run of 90,000 entries.
   */
  readHeads: `select r.id as run_id, h.seq, h.hash from json_array_elements_text($1::text::json) as r(id)
    join lateral (select e.seq, e.hash from audit_events e where e.run_id = r.id order by e.seq desc limit 1) h on true`,
  /** $1: toAuditEntryRowsJson(entries). One statement whatever the count. */
  insertEntries: `insert into audit_events (run_id, seq, at, type, data, prev_hash, hash, hmac)
    select run_id, seq, at, type, data, prev_hash, hash, hmac from json_populate_recordset(null::audit_events, $1::text::json)`,
} as const;

/** The entries as json_populate_recordset(null::audit_events, …) reads them. */
export function toAuditEntryRowsJson(entries: readonly AuditEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      run_id: e.runId,
      seq: e.seq,
      at: e.at.toISOString(),
      type: e.type,
      data: e.data,
      prev_hash: e.prevHash,
      hash: e.hash,
      hmac: e.hmac,
    })),
  );
}

/** A statement of this file (or one written the same way) with its $1 bound, for drizzle's execute. */
export function bindStatement(statement: string, parameter: string | number): SQL {
  const [before, after, ...more] = statement.split("$1");
  if (after === undefined || more.length > 0) {
    throw new AirlockError(
      "invalid_statement",
      `bindStatement: the statement must use $1 exactly once: ${statement}`,
    );
  }
  return sql`${sql.raw(before!)}${parameter}${sql.raw(after)}`;
}

/** Rows of drizzle's execute: postgres.js returns them as an array, PGlite inside `rows`. */
export function readExecutedRows<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
