import assert from "node:assert/strict";
import { llmCallRow as row } from "./llm-call-row.ts";
import { describe, it } from "node:test";
import { asc, eq, sql } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { auditEvents, llmCalls } from "../../core/db/schema.ts";
import { ensureRun, listRunCalls } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { AirlockError } from "../../core/errors.ts";
import { openDatabase, type Db } from "../../core/db/open-database.ts";
import { createCallRecorder } from "../../runner/proxy/call-recorder.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { createCapturingLogger } from "../helpers/create-capturing-logger.ts";
import { waitUntil } from "../helpers/wait-until.ts";

const secret = "call-recorder-test-secret-0123456789abcdef";

/** The run's llm_calls rows in id order, and its audit chain in order. */
async function readRun(db: Db, runId: string) {
  const calls = await listRunCalls(db, runId);
  const entries = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.runId, runId))
    .orderBy(asc(auditEvents.seq));
  return { calls, entries };
}

for (const kind of testDatabaseKinds()) {
  describe(`call recorder on ${kind.name}`, { skip: kind.skip }, () => {
    it("writes batches, redacts bodies, and drops only a row the database refuses for good", async () => {
      const database = await kind.open();
      try {
        const { logger, lines } = createCapturingLogger();
        const recorder = createCallRecorder({ db: database.db, logger, secret });
        const runId = newRunId();
        await ensureRun(database.db, { id: runId, kind: "manual" });
        for (let n = 1; n <= 5; n++) recorder.record(row(runId, n), [`run-token-literal-value-${n}`]);
        recorder.record(row(newRunId(), 99), []); // no such run: foreign key violation
        for (let n = 6; n <= 8; n++) recorder.record(row(runId, n), [`run-token-literal-value-${n}`]);
        await recorder.flush(5000);
        const stored = await database.db.select().from(llmCalls).where(eq(llmCalls.runId, runId));
        assert.deepEqual(
          stored.map((r) => r.inputTokens).sort((a, b) => a - b),
          [1, 2, 3, 4, 5, 6, 7, 8],
        );
        assert.ok(stored.every((r) => !r.requestBody?.includes("run-token-literal-value")));
        assert.equal(recorder.healthy, true);
        assert.ok(lines.some((l) => l.includes("row dropped")));
        // The refused row took its batch back with it; every stored row is chained once, none twice.
        const chained = await database.db.select().from(auditEvents).where(eq(auditEvents.runId, runId));
        assert.deepEqual(
          chained.map((e) => e.data.id).sort((a, b) => Number(a) - Number(b)),
          stored.map((r) => r.id).sort((a, b) => a - b),
        );
        assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
        await recorder.close();
      } finally {
        await database.close();
      }
    });

    it("turns unhealthy when the database is gone, and flush says rows are waiting", async () => {
      const shared = await kind.open();
      const own = shared.kind === "postgres" ? await openDatabase({ url: shared.url, max: 1 }) : shared;
      try {
        const { logger } = createCapturingLogger();
        const recorder = createCallRecorder({ db: own.db, logger, secret, maxRetryDelayMs: 50 });
        const runId = newRunId();
        await ensureRun(own.db, { id: runId, kind: "manual" });
        await own.close();
        recorder.record(row(runId, 1), []);
        await assert.rejects(
          recorder.flush(300),
          (e: unknown) =>
            e instanceof AirlockError &&
            e.code === "proxy_flush_timeout" &&
            /1 LLM call rows/.test(e.message),
        );
        assert.equal(recorder.healthy, false);
        assert.equal(recorder.queued, 1);
        await assert.rejects(recorder.close(100));
      } finally {
        if (own !== shared) await shared.close();
      }
    });

    it("chains one llm.call per row in the batch's transaction, in id order per run, with the stored bodies' sha256", async () => {
      const database = await kind.open();
      try {
        const { db } = database;
        const { logger } = createCapturingLogger();
        // 250 rows and batches of 100: three batches, each spanning three runs.
        const recorder = createCallRecorder({ db, logger, secret, batchSize: 100 });
        const runIds = [newRunId(), newRunId(), newRunId()];
        for (const runId of runIds) await ensureRun(db, { id: runId, kind: "manual" });
        // A run whose chain already has an entry: the calls chain after it.
        await appendAuditEvent(db, {
          runId: runIds[0]!,
          type: "run.cancel_requested",
          data: { by: "x" },
          secret,
        });
        for (let n = 1; n <= 250; n++) {
          recorder.record(
            {
              ...row(runIds[n % 3]!, n),
              costUsd: "0.0000000001",
              responseBody: n % 5 === 0 ? null : `{"answer":"é ✓ ${n}","key":"sk-real-upstream-key-${n}"}`,
            },
            [`run-token-literal-value-${n}`, `sk-real-upstream-key-${n}`],
          );
        }
        await recorder.close(20_000);

        for (const runId of runIds) {
          const { calls, entries } = await readRun(db, runId);
          const chained = entries.filter((e) => e.type === "llm.call");
          assert.equal(calls.length, runId === runIds[1] ? 84 : 83);
          // Exactly once each, in id order.
          assert.deepEqual(
            chained.map((e) => e.data.id),
            calls.map((c) => c.id),
          );
          if (runId === runIds[0]) assert.equal(entries[0]?.type, "run.cancel_requested");
          // The digests are over the stored (redacted) text, as Postgres itself computes them.
          const digests = (await db.execute(
            sql`select id, encode(sha256(convert_to(request_body, 'UTF8')), 'hex') as req,
                  case when response_body is null then null
                       else encode(sha256(convert_to(response_body, 'UTF8')), 'hex') end as res
                from llm_calls where run_id = ${runId} order by id`,
          )) as unknown as
            | { id: string; req: string; res: string | null }[]
            | { rows: { id: string; req: string; res: string | null }[] };
          const byId = (Array.isArray(digests) ? digests : digests.rows).map((d) => [
            Number(d.id),
            d.req,
            d.res,
          ]);
          assert.deepEqual(
            chained.map((e) => [e.data.id, e.data.requestSha256, e.data.responseSha256]),
            byId,
          );
          assert.ok(chained.some((e) => e.data.responseSha256 === null));
          assert.ok(calls.every((c) => !c.responseBody?.includes("sk-real-upstream-key")));
          // The entry says what the row says.
          const first = calls[0]!;
          assert.deepEqual(
            {
              costUsd: chained[0]?.data.costUsd,
              inputTokens: chained[0]?.data.inputTokens,
              provider: chained[0]?.data.provider,
              endpoint: chained[0]?.data.endpoint,
            },
            {
              costUsd: first.costUsd,
              inputTokens: first.inputTokens,
              provider: first.provider,
              endpoint: first.endpoint,
            },
          );
          const verified = await verifyAuditChain(db, runId, secret);
          assert.equal(verified.ok && verified.count, entries.length, JSON.stringify(verified));
        }
      } finally {
        await database.close();
      }
    });

    it("lets rows linger for company, but a flush or a full batch writes them at once", async () => {
      const database = await kind.open();
      try {
        const { db } = database;
        const { logger } = createCapturingLogger();
        // A linger far longer than the test: anything written was written by flush or a full batch.
        const recorder = createCallRecorder({ db, logger, secret, batchSize: 3, lingerMs: 600_000 });
        const runId = newRunId();
        await ensureRun(db, { id: runId, kind: "manual" });
        const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
        recorder.record(row(runId, 1), []);
        await nextTurn();
        assert.equal(recorder.queued, 1, "a lone row waits for company instead of being written at once");
        recorder.record(row(runId, 2), []);
        await nextTurn();
        await recorder.flush(10_000);
        const { calls, entries } = await readRun(db, runId);
        assert.equal(calls.length, 2);
        // One transaction for both: one batch chains its entries with one timestamp.
        assert.equal(new Set(entries.map((e) => e.at.getTime())).size, 1);

        // A full batch does not wait for the linger (nor for a flush).
        for (let n = 3; n <= 5; n++) recorder.record(row(runId, n), []);
        await waitUntil("a full batch is written without a flush", async () => {
          const rows = await readRun(db, runId);
          return rows.calls.length === 5 && rows.entries.length === 5;
        });
        assert.equal((await verifyAuditChain(db, runId, secret)).ok, true);
        await recorder.close(10_000);
      } finally {
        await database.close();
      }
    });

    it("two recorders and a direct append on the same run keep one intact chain, each call once", async () => {
      const database = await kind.open();
      try {
        const { db } = database;
        const { logger } = createCapturingLogger();
        const a = createCallRecorder({ db, logger, secret, batchSize: 7 });
        const b = createCallRecorder({ db, logger, secret, batchSize: 5 });
        const runId = newRunId();
        await ensureRun(db, { id: runId, kind: "manual" });
        const direct: Promise<unknown>[] = [];
        for (let n = 1; n <= 60; n++) {
          (n % 2 === 0 ? a : b).record(row(runId, n), []);
          if (n % 10 === 0)
            direct.push(
              appendAuditEvent(db, { runId, type: "run.error", data: { reason: `r${n}` }, secret }),
            );
        }
        await Promise.all([a.close(20_000), b.close(20_000), ...direct]);
        const { calls, entries } = await readRun(db, runId);
        const chained = entries.filter((e) => e.type === "llm.call").map((e) => e.data.id);
        assert.equal(calls.length, 60);
        // Ids are taken under the chain lock, so even across two recorders the chain is in id order.
        assert.deepEqual(
          chained,
          calls.map((c) => c.id),
        );
        assert.equal(entries.filter((e) => e.type === "run.error").length, 6);
        const verified = await verifyAuditChain(db, runId, secret);
        assert.equal(verified.ok && verified.count, 66);
      } finally {
        await database.close();
      }
    });
  });
}

// PGlite names the violated constraint differently from postgres.js (call-recorder.ts): both are tried.
for (const kind of testDatabaseKinds({ pglite: true })) {
  describe(`call keys on ${kind.name}`, { skip: kind.skip }, () => {
    it("drops a call whose key is on the record already, once, and writes its batch-mates", async () => {
      const database = await kind.open();
      const { logger, lines } = createCapturingLogger();
      const done: string[] = [];
      const recorder = createCallRecorder({
        db: database.db,
        logger,
        secret,
        onRowsDone: (keys) => done.push(...keys),
      });
      try {
        const runId = newRunId();
        await ensureRun(database.db, { id: runId, kind: "manual" });
        // Call keys are unique across runs: this run's own, as a journal's id and sequence make them.
        const [key1, key2] = [`${runId}.1`, `${runId}.2`];
        recorder.record({ ...row(runId, 1), callKey: key1 }, []);
        await recorder.flush(5000);
        // A replay of call 1 (a worker that died after its commit, or a journal's recovery) between two new calls.
        recorder.record({ ...row(runId, 2), callKey: key2 }, []);
        recorder.record({ ...row(runId, 3), callKey: key1 }, []);
        recorder.record(row(runId, 4), []);
        await recorder.flush(5000);
        const stored = await listRunCalls(database.db, runId);
        assert.deepEqual(
          stored.map((r) => [r.inputTokens, r.callKey]),
          [
            [1, key1],
            [2, key2],
            [4, null],
          ],
        );
        assert.equal(lines.filter((l) => l.includes("on the record already")).length, 1);
        assert.deepEqual([...done].sort(), [key1, key1, key2]);
        assert.equal(recorder.healthy, true);
        assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
      } finally {
        // Also stops the retries of a recorder that took the conflict for a passing fault.
        await recorder.close(1_000).catch(() => undefined);
        await database.close();
      }
    });
  });
}
