import type { Db } from "../db/open-database.ts";
import {
  auditChainStatements,
  bindStatement,
  readExecutedRows,
  toAuditEntryRowsJson,
} from "./audit-chain-statements.ts";
import {
  chainAuditEntries,
  type AuditChainHead,
  type AuditEntry,
  type PendingAuditEvent,
} from "./chain-audit-entries.ts";
import { GENESIS_HASH } from "./hash-audit-entry.ts";

export type { AuditEntry, PendingAuditEvent } from "./chain-audit-entries.ts";

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
 * guard: hitting it means a writer went around this function. The proxy's call writer
 * runs the same statements pipelined (runner/proxy/write-call-batch.ts).
 */
export async function lockAuditChains(
  tx: Db,
  runIds: readonly string[],
  secret: string,
): Promise<LockedAuditChains> {
  const wanted = JSON.stringify([...new Set(runIds)].sort());
  const locked =
    runIds.length === 0
      ? []
      : readExecutedRows<{ id: string }>(
          await tx.execute(bindStatement(auditChainStatements.lockRuns, wanted)),
        );
  const heads = new Map<string, AuditChainHead>(locked.map((r) => [r.id, { seq: 0, hash: GENESIS_HASH }]));
  if (heads.size > 0) {
    const rows = readExecutedRows<{ run_id: string; seq: number; hash: string }>(
      await tx.execute(bindStatement(auditChainStatements.readHeads, JSON.stringify([...heads.keys()]))),
    );
    for (const row of rows) heads.set(row.run_id, { seq: Number(row.seq), hash: row.hash });
  }

  return {
    has: (runId) => heads.has(runId),
    async append(events, at = new Date()) {
      const entries = chainAuditEntries(heads, events, at, secret);
      if (entries.length > 0) {
        await tx.execute(bindStatement(auditChainStatements.insertEntries, toAuditEntryRowsJson(entries)));
      }
      return entries;
    },
  };
}
