import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ensureRun, getRun, listRunEvents, setRunState } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

for (const kind of testDatabaseKinds({ pglite: true })) {
  describe(`database on ${kind.name}`, { skip: kind.skip }, () => {
    it("applies migrations twice without error and stores runs with their events", async () => {
      const database = await kind.open();
      try {
        await migrateDatabase(database);
        const id = newRunId();
        const first = await ensureRun(database.db, {
          id,
          kind: "manual",
          agent: "builtin",
          budgetUsd: "1.5",
        });
        assert.equal(first.created, true);
        assert.equal(first.run.state, "queued");
        const second = await ensureRun(database.db, { id, kind: "manual" });
        assert.equal(second.created, false);
        assert.equal(second.run.agent, "builtin");

        assert.equal(await setRunState(database.db, id, "running"), true);
        assert.equal(await setRunState(database.db, id, "failed", { reason: "agent exited 3" }), true);
        // Terminal states are final.
        assert.equal(await setRunState(database.db, id, "succeeded"), false);

        const run = await getRun(database.db, id);
        assert.equal(run?.state, "failed");
        assert.equal(run?.outcomeReason, "agent exited 3");
        assert.ok(run?.startedAt instanceof Date);
        assert.ok(run?.finishedAt instanceof Date);
        const events = await listRunEvents(database.db, id);
        assert.deepEqual(
          events.map((e) => [e.type, e.data.from]),
          [
            ["state.running", "queued"],
            ["state.failed", "running"],
          ],
        );
      } finally {
        await database.close();
      }
    });
  });
}
