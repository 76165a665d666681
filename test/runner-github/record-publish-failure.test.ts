import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import type { Database } from "../../core/db/open-database.ts";
import { claimRun, getRun, insertRun, listRunEvents, recordPublishFailure } from "../../core/db/runs.ts";
import { runs } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

describe("a run GitHub keeps refusing to take", () => {
  let database: Database;
  let drop: () => Promise<void>;
  before(async () => {
    // A database of its own: claimRun looks at every run in the table.
    ({ database, drop } = await testDatabaseKinds()[0]!.openPrivate());
  });
  after(async () => drop());

  it("stays claimable for another try until the last allowed failure, then is set aside with the reason", async () => {
    const id = newRunId();
    await insertRun(database.db, { id, kind: "github", state: "failed", repo: "o/r", issueNumber: 1 });
    for (let i = 1; i <= 2; i += 1) {
      const result = await recordPublishFailure(database.db, {
        runId: id,
        error: `422 #${i}`,
        maxFailures: 3,
      });
      assert.deepEqual(result, { failures: i, gaveUp: false });
      assert.equal((await getRun(database.db, id))?.publishedAt, null);
    }
    assert.equal(
      (await claimRun(database.db, { runnerId: "r", leaseS: 60 }))?.id,
      id,
      "still a runner's work",
    );
    await database.db.update(runs).set({ leaseExpiresAt: null, leaseOwner: null }).where(eq(runs.id, id));

    assert.deepEqual(
      await recordPublishFailure(database.db, { runId: id, error: "422 #3", maxFailures: 3 }),
      {
        failures: 3,
        gaveUp: true,
      },
    );
    assert.ok((await getRun(database.db, id))?.publishedAt instanceof Date);
    assert.equal(await claimRun(database.db, { runnerId: "r", leaseS: 60 }), undefined);
    const abandoned = (await listRunEvents(database.db, id)).find(
      (e) => e.type === "github.publish_abandoned",
    );
    assert.deepEqual(abandoned?.data, { failures: 3, lastError: "422 #3" });
  });
});
