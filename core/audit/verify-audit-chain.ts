import { timingSafeEqual } from "node:crypto";
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/open-database.ts";
import { auditEvents } from "../db/schema.ts";
import { GENESIS_HASH, hashAuditEntry, signAuditHash, signLegacyAuditHash } from "./hash-audit-entry.ts";

export type AuditVerification =
  | {
      ok: true;
      count: number;
      head: string;
      /** With an expectedHead that later entries follow: its 1-based position. */
      checkpoint?: { position: number };
      /**
       * Entries signed the pre-HKDF way (keyed with the raw secret), when there are any: a
       * ledger written before the ledger key was derived apart. Only a leading run of
       * entries may be legacy; see signLegacyAuditHash.
       */
      legacyEntries?: number;
    }
  /** `position` is 1-based: the seq the first bad entry should have had. */
  | { ok: false; position: number; reason: string };

export interface StoredAuditEntry {
  seq: number;
  at: Date;
  type: string;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
  hmac: string;
}

export interface VerifyAuditOptions {
  /**
   * A hash published elsewhere, checked as a checkpoint: it must be the hash of an entry
   * of this (intact) chain, and later entries may follow it. The commit trailer
   * `Airlock-Audit:` names the `relay.started` entry, which the commit and push entries
   * follow; the PR body names the head at render time. Without one, deleting entries from
   * the end of a chain leaves a valid shorter chain; with one, any deletion up to it shows.
   */
  expectedHead?: string | undefined;
}

/** Read a run's ledger in seq order and check it with verifyAuditEntries. */
export async function verifyAuditChain(
  db: Db,
  runId: string,
  secret: string,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  const entries = await db
    .select({
      seq: auditEvents.seq,
      at: auditEvents.at,
      type: auditEvents.type,
      data: auditEvents.data,
      prevHash: auditEvents.prevHash,
      hash: auditEvents.hash,
      hmac: auditEvents.hmac,
    })
    .from(auditEvents)
    .where(eq(auditEvents.runId, runId))
    .orderBy(asc(auditEvents.seq));
  return verifyAuditEntries(runId, entries, secret, options);
}

/**
 * Recompute a chain and name its first bad entry. Checks, in this order per entry:
 * seq continuity (a deleted or renumbered row), prev_hash linkage (deleted, inserted or
 * swapped rows), the hash (changed content), the HMAC (a row rewritten by someone who
 * could recompute sha256 but does not hold the secret). The HMAC is checked with the
 * ledger key derived from `secret`; a leading run of entries may instead carry the
 * legacy HMAC keyed with the raw secret (ledgers from before the keys were derived
 * apart, or a run that was in flight across the upgrade): counted in `legacyEntries`.
 */
export function verifyAuditEntries(
  runId: string,
  entries: readonly StoredAuditEntry[],
  secret: string,
  options: VerifyAuditOptions = {},
): AuditVerification {
  if (entries.length === 0) {
    return {
      ok: false,
      position: 1,
      reason: "the ledger is empty: no entry was recorded, or every entry was deleted",
    };
  }
  let prevHash = GENESIS_HASH;
  let legacy = 0;
  for (const [index, entry] of entries.entries()) {
    const position = index + 1;
    if (entry.seq !== position) {
      return {
        ok: false,
        position,
        reason: `found seq ${entry.seq} where seq ${position} belongs: an entry was deleted or renumbered`,
      };
    }
    if (entry.prevHash !== prevHash) {
      return {
        ok: false,
        position,
        reason:
          position === 1
            ? "prev_hash is not the genesis value: entries before it were removed or it was inserted"
            : `prev_hash does not match the hash of entry ${position - 1}: entries were deleted, inserted or reordered`,
      };
    }
    // Field by field: a spread would let an entry's own runId override the run being checked.
    const { seq, at, type, data } = entry;
    const hash = hashAuditEntry({ runId, seq, at, type, data, prevHash });
    if (hash !== entry.hash) {
      return { ok: false, position, reason: "hash mismatch: the entry's type, data or time was changed" };
    }
    if (!equalHex(signAuditHash(secret, hash), entry.hmac)) {
      // Legacy only while no entry so far was signed the current way: a legacy entry after
      // a current one was not written by any version of Airlock.
      if (legacy === index && equalHex(signLegacyAuditHash(secret, hash), entry.hmac)) {
        legacy += 1;
      } else {
        return {
          ok: false,
          position,
          reason:
            "hmac mismatch: the entry was not signed with this AIRLOCK_TOKEN_SECRET (forged or rewritten)",
        };
      }
    }
    prevHash = hash;
  }
  const result: AuditVerification = { ok: true, count: entries.length, head: prevHash };
  if (legacy > 0) result.legacyEntries = legacy;
  const expected = options.expectedHead;
  if (expected !== undefined) {
    const found = entries.findIndex((e) => e.hash === expected);
    if (found < 0) {
      return {
        ok: false,
        position: entries.length + 1,
        reason: `the chain ends at ${prevHash} and never reaches the expected head ${expected}: no entry has that hash (entries up to it were removed, or it is another run's)`,
      };
    }
    if (found + 1 < entries.length) result.checkpoint = { position: found + 1 };
  }
  return result;
}

function equalHex(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}
