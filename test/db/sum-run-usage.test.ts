import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Database } from "../../core/db/open-database.ts";
import { insertRun, sumRunUsage } from "../../core/db/runs.ts";
import { llmCalls, type NewLlmCall } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

for (const kind of testDatabaseKinds()) {
  describe(`sumRunUsage (${kind.name})`, { skip: kind.skip }, () => {
    let database: Database;
    before(async () => {
      database = await kind.open();
    });
    after(async () => database.close());

    const call = (runId: string, fields: Partial<NewLlmCall>): NewLlmCall => ({
      runId,
      attempt: 0,
      provider: "openai",
      model: "gpt-4.1-mini",
      endpoint: "/v1/chat/completions",
      status: 200,
      startedAt: new Date(),
      latencyMs: 1,
      ...fields,
    });

    it("adds up one run's calls exactly, in all and per provider and model, and nobody else's", async () => {
      const runId = newRunId();
      const other = newRunId();
      await insertRun(database.db, { id: runId, kind: "local" });
      await insertRun(database.db, { id: other, kind: "local" });
      await database.db.insert(llmCalls).values([
        call(runId, { inputTokens: 100, outputTokens: 10, costUsd: "0.0000000001" }),
        call(runId, { inputTokens: 200, outputTokens: 20, costUsd: "0.0000000002" }),
        call(runId, {
          provider: "anthropic",
          model: null,
          inputTokens: 5,
          outputTokens: 1,
          costUsd: "1.5",
        }),
        call(other, { inputTokens: 9999, outputTokens: 9999, costUsd: "9" }),
      ]);
      const usage = await sumRunUsage(database.db, runId);
      assert.deepEqual(usage.total, {
        calls: 3,
        inputTokens: 305,
        outputTokens: 31,
        costUsd: "1.5000000003",
      });
      const byModel = [...usage.byModel].sort((a, b) => a.provider.localeCompare(b.provider));
      assert.deepEqual(byModel, [
        {
          provider: "anthropic",
          model: null,
          calls: 1,
          inputTokens: 5,
          outputTokens: 1,
          costUsd: "1.5000000000",
        },
        {
          provider: "openai",
          model: "gpt-4.1-mini",
          calls: 2,
          inputTokens: 300,
          outputTokens: 30,
          costUsd: "0.0000000003",
        },
      ]);
    });

    it("is zero for a run with no calls", async () => {
      const runId = newRunId();
      await insertRun(database.db, { id: runId, kind: "local" });
      assert.deepEqual(await sumRunUsage(database.db, runId), {
        total: { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: "0" },
        byModel: [],
      });
    });
  });
}
