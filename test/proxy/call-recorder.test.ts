import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { llmCalls, type NewLlmCall } from "../../core/db/schema.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { AirlockError } from "../../core/errors.ts";
import { openDatabase } from "../../core/db/open-database.ts";
import { createCallRecorder } from "../../runner/proxy/call-recorder.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { createCapturingLogger } from "./proxy-harness.ts";

const secret = "call-recorder-test-secret-0123456789abcdef";

function row(runId: string, n: number): NewLlmCall {
  return {
    runId,
    attempt: 0,
    provider: "openai",
    model: "gpt-4o-mini",
    endpoint: "/v1/chat/completions",
    status: 200,
    startedAt: new Date(),
    latencyMs: n,
    inputTokens: n,
    costUsd: "0.0000000001",
    requestBody: `{"token":"run-token-literal-value-${n}"}`,
  };
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
  });
}
