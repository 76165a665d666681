import { and, asc, eq, gt } from "drizzle-orm";
import type { Db } from "../db/open-database.ts";
import { auditEvents, type AuditEvent } from "../db/schema.ts";
import { toCanonicalJson } from "./canonical-json.ts";

const pageSize = 500;

/**
 * A run's ledger as JSONL lines (no trailing newline), in seq order, read a page at a
 * time. Each line carries every hashed field, so with the secret it can be re-verified
 * away from the database (verifyAuditEntries).
 */
export async function* exportAuditChain(db: Db, runId: string): AsyncGenerator<string> {
  let afterSeq = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.runId, runId), gt(auditEvents.seq, afterSeq)))
      .orderBy(asc(auditEvents.seq))
      .limit(pageSize);
    for (const row of rows) yield toAuditExportLine(row);
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) return;
    afterSeq = last.seq;
  }
}

/** Stable field order; `data` in canonical key order, as hashed. */
export function toAuditExportLine(row: AuditEvent): string {
  return JSON.stringify({
    runId: row.runId,
    seq: row.seq,
    at: row.at.toISOString(),
    type: row.type,
    data: JSON.parse(toCanonicalJson(row.data)) as unknown,
    prevHash: row.prevHash,
    hash: row.hash,
    hmac: row.hmac,
  });
}
