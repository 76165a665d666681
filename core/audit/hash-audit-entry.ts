import { createHash, createHmac } from "node:crypto";
import { deriveKey } from "../keys/derive-key.ts";
import { toCanonicalJson } from "./canonical-json.ts";

/** The `prev_hash` of a run's first entry (seq 1). */
export const GENESIS_HASH = "0".repeat(64);

export interface AuditEntryContent {
  runId: string;
  seq: number;
  /** Millisecond precision: what is hashed is `at.toISOString()`, exactly what a read returns. */
  at: Date;
  type: string;
  data: Record<string, unknown>;
  prevHash: string;
}

/**
 * sha256 hex over a tagged JSON array of the entry's fields. An array (not a string
 * join) so no two different entries can serialize alike by moving a separator
 * between fields; the run id is inside so an entry cannot be replayed into another run.
 */
export function hashAuditEntry(entry: AuditEntryContent): string {
  const serialized = JSON.stringify([
    "airlock-audit-v1",
    entry.runId,
    entry.seq,
    entry.at.toISOString(),
    entry.type,
    toCanonicalJson(entry.data),
    entry.prevHash,
  ]);
  return createHash("sha256").update(serialized).digest("hex");
}

/**
 * HMAC-SHA256 of the hash, keyed with the "audit-ledger" key derived from
 * AIRLOCK_TOKEN_SECRET: anyone with write access to the database can recompute a sha256
 * chain after editing it, but not this. Run tokens use a sibling key (deriveKey).
 */
export function signAuditHash(secret: string, hash: string): string {
  return createHmac("sha256", deriveKey(secret, "audit-ledger")).update(hash).digest("hex");
}

/**
 * How entries were signed before the ledger key was derived apart: keyed with the raw
 * secret. Only verification uses it, so ledgers written before the change still verify
 * (reported as legacy); nothing is signed this way any more.
 */
export function signLegacyAuditHash(secret: string, hash: string): string {
  return createHmac("sha256", secret).update(hash).digest("hex");
}
