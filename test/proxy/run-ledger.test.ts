import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { ensureRun } from "../../core/db/runs.ts";
import { runs } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createRunLedger, type RunAccount } from "../../runner/proxy/run-ledger.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

for (const kind of testDatabaseKinds()) {
  describe(`run ledger on ${kind.name}`, { skip: kind.skip }, () => {
    it("re-reads a run in the background past half its TTL, and makes a call wait for the read only past the TTL", async () => {
      const database = await kind.open();
      try {
        const { db } = database;
        let now = 1_000_000;
        const ledger = createRunLedger({ db, now: () => now, cacheTtlMs: 1000, softThreshold: 0.8 });
        const runId = newRunId();
        await ensureRun(db, { id: runId, kind: "manual", budgetTokens: 100 });
        const account = (await ledger.load(runId))!;
        assert.equal(account.budgetTokens, 100);
        const setBudget = (tokens: number) =>
          db.update(runs).set({ budgetTokens: tokens }).where(eq(runs.id, runId));

        await setBudget(200);
        now += 400; // under half the TTL: the cached account, and no read behind it
        assert.equal(await ledger.load(runId), account);
        assert.equal(account.refreshing, undefined);
        assert.equal(account.budgetTokens, 100);

        now += 200; // past half: still answered from the cache at once, re-read behind it
        const served = ledger.load(runId);
        // Read afresh: the assertion above narrowed account.refreshing to undefined.
        const background = (account as RunAccount).refreshing as Promise<unknown> | undefined;
        assert.ok(background, "a background read started");
        assert.equal(await served, account);
        await background;
        assert.equal(account.budgetTokens, 200);
        assert.equal(account.refreshedAt, now);
        assert.equal(account.refreshing, undefined);

        await setBudget(300);
        now += 1000; // past the TTL: the call waits for the read
        assert.equal((await ledger.load(runId))?.budgetTokens, 300);
      } finally {
        await database.close();
      }
    });
  });
}
