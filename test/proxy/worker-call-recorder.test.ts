import assert from "node:assert/strict";
import { llmCallRow as row } from "./llm-call-row.ts";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import type { Database } from "../../core/db/open-database.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { ensureRun, listRunCalls } from "../../core/db/runs.ts";
import { AirlockError } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import {
  createWorkerCallRecorder,
  type WorkerCallRecorder,
} from "../../runner/proxy/create-worker-call-recorder.ts";
import { serveProxyOnPort } from "../../runner/proxy/serve-proxy.ts";
import { createCapturingLogger } from "../helpers/create-capturing-logger.ts";
import { startProxyHarness } from "../helpers/start-proxy-harness.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";

const secret = "worker-call-recorder-test-secret-0123456789";
const postgres = testDatabaseKinds().find((k) => k.name === "postgres")!;

/** Each stored row's n (latencyMs), sorted, and whether the run's chain has exactly those rows once each and verifies. */
async function readRecorded(database: Database, runId: string) {
  const calls = await listRunCalls(database.db, runId);
  const entries = await database.db.select().from(auditEvents).where(eq(auditEvents.runId, runId));
  const chainedIds = entries.map((e) => Number(e.data.id)).sort((a, b) => a - b);
  return {
    ns: calls.map((c) => c.latencyMs).sort((a, b) => a - b),
    chainedOnce: JSON.stringify(chainedIds) === JSON.stringify(calls.map((c) => c.id).sort((a, b) => a - b)),
    verified: (await verifyAuditChain(database.db, runId, secret)).ok,
    calls,
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Issue 9 §8: the call recorder in a worker thread, with its own Postgres connection. */
describe("the call recorder in a worker thread", { skip: postgres.skip }, () => {
  let database: Database;
  before(async () => {
    database = await postgres.open();
  });
  after(async () => {
    await database.close();
  });

  function startRecorder(extra: { lingerMs?: number; maxQueuedRows?: number } = {}) {
    const { logger, lines } = createCapturingLogger();
    const recorder = createWorkerCallRecorder({ databaseUrl: database.url!, logger, secret, ...extra });
    return { recorder, lines };
  }

  it("writes every row redacted and chained once, and drops only a row the database refuses", async () => {
    const { recorder, lines } = startRecorder();
    try {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      for (let n = 1; n <= 120; n++) recorder.record(row(runId, n), [`run-token-literal-value-${n}`]);
      recorder.record(row(newRunId(), 999), []); // no such run: refused for good
      for (let n = 121; n <= 150; n++) recorder.record(row(runId, n), [`run-token-literal-value-${n}`]);
      await recorder.flush(20_000);
      assert.equal(recorder.queued, 0);
      assert.equal(recorder.healthy, true);
      const recorded = await readRecorded(database, runId);
      assert.deepEqual(recorded.ns, range(1, 150));
      assert.ok(recorded.chainedOnce);
      assert.ok(recorded.verified);
      assert.ok(recorded.calls.every((c) => !c.requestBody?.includes("run-token-literal-value")));
      // The worker's log lines reach the proxy's logger.
      assert.ok(
        lines.some((l) => l.includes("row dropped")),
        lines.join(""),
      );
    } finally {
      await recorder.close(20_000);
    }
  });

  it("refuses new calls while its worker is down, and a new worker writes every row the old one had not, once", async () => {
    // Rows linger far longer than the test: nothing the dead worker held was written by it.
    const { recorder, lines } = startRecorder({ lingerMs: 600_000 });
    try {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      for (let n = 1; n <= 10; n++) recorder.record(row(runId, n), []);
      await recorder.flush(20_000); // written and acknowledged: must not be sent again
      for (let n = 11; n <= 30; n++) recorder.record(row(runId, n), []);
      // Sent to the worker or not yet, these 20 die with it unwritten (they linger).
      await recorder.killWorkerForTests();
      await waitUntil("the recorder to report its worker down", () => !recorder.healthy);
      for (let n = 31; n <= 40; n++) recorder.record(row(runId, n), []);
      await waitUntil("a new worker", () => recorder.restarts === 1);
      // Still refusing: the new worker has not written the old one's rows yet (they linger).
      assert.equal(recorder.healthy, false);
      assert.equal(recorder.queued, 30);
      await recorder.flush(20_000);
      assert.equal(recorder.healthy, true);
      const recorded = await readRecorded(database, runId);
      assert.deepEqual(recorded.ns, range(1, 40));
      assert.ok(recorded.chainedOnce);
      assert.ok(recorded.verified);
      assert.ok(
        lines.some((l) => l.includes("worker stopped") && l.includes('"unwrittenRows":20')),
        lines.join(""),
      );
    } finally {
      await recorder.close(20_000);
    }
  });

  it("refuses new calls while more rows wait than it may hold, until they are written", async () => {
    const { recorder } = startRecorder({ lingerMs: 600_000, maxQueuedRows: 5 });
    try {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      for (let n = 1; n <= 5; n++) recorder.record(row(runId, n), []);
      assert.equal(recorder.healthy, true);
      recorder.record(row(runId, 6), []);
      assert.equal(recorder.healthy, false);
      await recorder.flush(20_000);
      assert.equal(recorder.healthy, true);
      assert.deepEqual((await readRecorded(database, runId)).ns, range(1, 6));
    } finally {
      await recorder.close(20_000);
    }
  });

  it("says at start-up when its worker cannot start, and the proxy does not listen", async () => {
    const { logger, lines } = createCapturingLogger();
    const recorder = createWorkerCallRecorder({ databaseUrl: "not a database url", logger, secret });
    await assert.rejects(
      recorder.ready(),
      (e: unknown) => e instanceof AirlockError && e.code === "recorder_worker_failed",
    );
    assert.equal(recorder.healthy, false);
    assert.equal(recorder.restarts, 0);
    assert.ok(
      lines.some((l) => l.includes("worker failed")),
      lines.join(""),
    );
    await recorder.close(1_000);
    await assert.rejects(
      serveProxyOnPort({
        port: 0,
        db: database.db,
        recordInWorker: { databaseUrl: "not a database url" },
        tokenSecret: secret,
        upstreams: { openai: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "never-used-key-0123" } },
        logger,
      }),
      (e: unknown) => e instanceof AirlockError && e.code === "recorder_worker_failed",
    );
  });

  it("through the proxy: every call served is recorded, though the worker dies mid-traffic", async () => {
    const harness = await startProxyHarness(
      postgres,
      { recordInWorker: { databaseUrl: database.url! } },
      { database },
    );
    try {
      const { runId, openai } = await harness.newRun();
      const recorder = harness.proxy.handler.recorder as WorkerCallRecorder;
      const call = () =>
        openai.chat.completions
          .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
          .then(
            () => "served" as const,
            (error: { status?: number }) => {
              // Only the refusal a down recorder gives: served unrecorded is what must never happen.
              assert.equal(error.status, 503, String(error));
              return "refused" as const;
            },
          );
      const outcomes: Promise<"served" | "refused">[] = [];
      for (let i = 0; i < 40; i++) {
        outcomes.push(call());
        if (i === 20) await recorder.killWorkerForTests();
        if (i % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const settled = await Promise.all(outcomes);
      await waitUntil("a new worker", () => recorder.restarts >= 1);
      const served = settled.filter((o) => o === "served").length;
      assert.ok(served > 0);
      const rows = await harness.rows(runId);
      assert.equal(rows.length, served, `served ${served}, recorded ${rows.length}`);
      assert.ok(rows.every((r) => r.status === 200));
      assert.equal((await verifyAuditChain(database.db, runId, harness.tokenSecret)).ok, true);
    } finally {
      await harness.close();
    }
  });
});
