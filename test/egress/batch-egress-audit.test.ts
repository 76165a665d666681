import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import type { Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { batchEgressAudit } from "../../runner/egress/batch-egress-audit.ts";
import type { BlockedAttempt } from "../../runner/egress/blocked-attempts.ts";
import type { EgressConnectionRecord } from "../../runner/egress/egress-connection-record.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";

const secret = "test-egress-batch-secret-0123456789abcdef0123";
const logger = createLogger("silent");

function record(runId: string, domain: string): EgressConnectionRecord {
  return {
    runId,
    kind: "connect",
    domain,
    port: 443,
    address: "203.0.114.9",
    bytesOut: 10,
    bytesIn: 20,
    durationMs: 3,
    outcome: "closed",
    reason: null,
    status: 200,
    startedAt: new Date(),
  };
}

const blockedOne: BlockedAttempt = {
  domain: "exfil.example.org",
  port: 443,
  reason: "exfil.example.org is not among this run's network grants",
  attempts: 4,
  firstAt: new Date(),
  lastAt: new Date(),
};

describe("batchEgressAudit: the run's egress records into its ledger", () => {
  let database: Database;
  before(async () => {
    database = await testDatabaseKinds()[0]!.open();
  });
  after(async () => {
    await database?.close();
  });

  async function entriesOf(runId: string) {
    return database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.runId, runId))
      .orderBy(asc(auditEvents.seq));
  }

  async function newRun(): Promise<string> {
    const runId = newRunId();
    await ensureRun(database.db, { id: runId, kind: "manual" });
    return runId;
  }

  it("writes a full batch at once, a partial one after the delay, the rest and the blocked attempts on close", async () => {
    const runId = await newRun();
    // A delay no test waits for: only the batch size can write the first three.
    const audit = batchEgressAudit(database.db, { runId, secret, logger, maxBatch: 3, maxDelayMs: 600_000 });
    for (const d of ["a", "b", "c"]) audit.add(record(runId, `${d}.example.org`));
    await waitUntil("a full batch chained", async () => (await entriesOf(runId)).length === 3);
    audit.add(record(runId, "d.example.org"));
    await audit.close([blockedOne]);
    const entries = await entriesOf(runId);
    assert.deepEqual(
      entries.map((e) => `${e.type} ${(e.data as { domain: string }).domain}`),
      [
        "egress.connection a.example.org",
        "egress.connection b.example.org",
        "egress.connection c.example.org",
        "egress.connection d.example.org",
        "egress.blocked exfil.example.org",
      ],
    );
    assert.equal((entries.at(-1)?.data as { attempts: number }).attempts, 4);
    const verification = await verifyAuditChain(database.db, runId, secret);
    assert.equal(verification.ok, true, JSON.stringify(verification));

    const timed = await newRun();
    const byTime = batchEgressAudit(database.db, {
      runId: timed,
      secret,
      logger,
      maxBatch: 100,
      maxDelayMs: 50,
    });
    byTime.add(record(timed, "e.example.org"));
    byTime.add(record(timed, "f.example.org"));
    await waitUntil(
      "a partial batch chained after its delay",
      async () => (await entriesOf(timed)).length === 2,
    );
    await byTime.close([]);
    assert.equal((await entriesOf(timed)).length, 2);
  });

  it("rejects on close, naming what is missing from the ledger, when a write failed", async () => {
    // No such run: every append is refused, as when the database is gone.
    const runId = newRunId();
    const audit = batchEgressAudit(database.db, {
      runId,
      secret,
      logger,
      maxBatch: 100,
      maxDelayMs: 600_000,
    });
    audit.add(record(runId, "a.example.org"));
    audit.add(record(runId, "b.example.org"));
    await assert.rejects(audit.close([blockedOne]), (error: Error & { code?: string }) => {
      assert.equal(error.code, "egress_audit_incomplete");
      assert.match(error.message, /not chained: 2 egress.connection entries, 1 egress.blocked entries\)/);
      assert.match(error.message, new RegExp(`run ${runId} does not exist`));
      return true;
    });
  });
});
