import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Database } from "../../core/db/open-database.ts";
import { appendRunEvent, ensureRun, listRunEvents, setRunState } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { recordPublishFailure } from "../../core/db/runs.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

const refused = (error: Error & { code?: string }) => error.code === "run_event_invalid";

for (const kind of testDatabaseKinds()) {
  describe(`run events are typed on ${kind.name}`, { skip: kind.skip }, () => {
    let database: Database;
    before(async () => {
      database = await kind.open();
    });
    after(async () => {
      await database?.close();
    });

    it("writes the listed types with fitting data, and refuses an unknown type or misfitting data, writing nothing", async () => {
      const { db } = database;
      const runId = newRunId();
      await ensureRun(db, { id: runId, kind: "manual" });
      await setRunState(db, runId, "running");
      await appendRunEvent(db, runId, "github.published", {
        prNumber: 7,
        prUrl: "https://example.test/pr/7",
      });
      await recordPublishFailure(db, { runId, error: "422 from GitHub", maxFailures: 1 });
      await setRunState(db, runId, "failed", { reason: "it broke" });

      await assert.rejects(
        appendRunEvent(db, runId, "github.pushed" as "github.published", { prNumber: 1, prUrl: null }),
        (error: Error & { code?: string }) =>
          refused(error) && /"github\.pushed" is not known/.test(error.message),
      );
      await assert.rejects(
        appendRunEvent(db, runId, "github.published", { prNumber: "7" as unknown as number, prUrl: null }),
        (error: Error & { code?: string }) => refused(error) && /prNumber/.test(error.message),
      );
      await assert.rejects(
        appendRunEvent(db, runId, "github.publish_failed", { error: "x", extra: 1 } as { error: string }),
        refused,
      );

      const events = await listRunEvents(db, runId);
      assert.deepEqual(
        events.map((e) => [e.type, e.data]),
        [
          ["state.running", { from: "queued" }],
          ["github.published", { prNumber: 7, prUrl: "https://example.test/pr/7" }],
          ["github.publish_failed", { error: "422 from GitHub" }],
          ["github.publish_abandoned", { failures: 1, lastError: "422 from GitHub" }],
          ["state.failed", { from: "running", reason: "it broke" }],
        ],
      );
    });
  });
}
