import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import type { Database } from "../../core/db/open-database.ts";
import { claimRun, insertRun, releaseRunLease, renewRunLease, setRunState } from "../../core/db/runs.ts";
import { runs } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

for (const kind of testDatabaseKinds()) {
  describe(`run claiming (${kind.name})`, { skip: kind.skip }, () => {
    let database: Database;
    let drop: () => Promise<void>;
    before(async () => {
      ({ database, drop } = await kind.openPrivate());
    });
    after(async () => drop());

    const queue = async (n: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = newRunId();
        await insertRun(database.db, {
          id,
          kind: "github",
          state: "queued",
          repo: "o/r",
          issueNumber: i + 1,
        });
        ids.push(id);
      }
      return ids;
    };

    it("gives each queued run to exactly one of several racing runners, oldest first", async () => {
      const ids = await queue(6);
      // A local run is never claimed: it belongs to the `airlock run` process that made it.
      await insertRun(database.db, { id: newRunId(), kind: "local", state: "queued" });
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          claimRun(database.db, { runnerId: `runner-${i % 3}`, leaseS: 60 }),
        ),
      );
      const got = claims.filter((c) => c !== undefined);
      assert.equal(got.length, 6);
      assert.deepEqual(new Set(got.map((c) => c.id)), new Set(ids));
      for (const c of got) {
        assert.equal(c.attempt, 1);
        assert.ok(c.leaseOwner?.startsWith("runner-"));
        assert.ok(c.leaseExpiresAt!.getTime() > Date.now() + 50_000);
      }
      assert.equal(await claimRun(database.db, { runnerId: "late", leaseS: 60 }), undefined);
      for (const id of ids) await setRunState(database.db, id, "failed", { reason: "test" });
      await database.db.update(runs).set({ publishedAt: sql`now()` });
    });

    it("re-claims a run whose lease lapsed (its runner died) with the next attempt, and the old runner loses it", async () => {
      const [id] = await queue(1);
      const first = await claimRun(database.db, { runnerId: "dead", leaseS: 60 });
      assert.equal(first?.id, id);
      await setRunState(database.db, id!, "running");
      assert.equal(
        await claimRun(database.db, { runnerId: "other", leaseS: 60 }),
        undefined,
        "lease still held",
      );
      await database.db
        .update(runs)
        .set({ leaseExpiresAt: sql`now() - interval '1 second'` })
        .where(eq(runs.id, id!));
      const second = await claimRun(database.db, { runnerId: "other", leaseS: 60 });
      assert.equal(second?.id, id);
      assert.equal(second?.attempt, 2);
      assert.equal(second?.state, "running");
      // The runner that lost the run cannot end it: its attempt is no longer the run's.
      assert.equal(await setRunState(database.db, id!, "failed", { reason: "stale" }, { attempt: 1 }), false);
      assert.equal((await database.db.select().from(runs).where(eq(runs.id, id!)))[0]?.state, "running");
      assert.deepEqual(await renewRunLease(database.db, { runId: id!, runnerId: "dead", leaseS: 60 }), {
        held: false,
        cancelRequested: false,
        cancelRequestedBy: undefined,
      });
      await database.db
        .update(runs)
        .set({ cancelRequestedAt: sql`now()`, cancelRequestedBy: "maintainer" })
        .where(eq(runs.id, id!));
      assert.deepEqual(await renewRunLease(database.db, { runId: id!, runnerId: "other", leaseS: 60 }), {
        held: true,
        cancelRequested: true,
        cancelRequestedBy: "maintainer",
      });
      await setRunState(database.db, id!, "cancelled", { reason: "test" });
      await releaseRunLease(database.db, { runId: id!, runnerId: "other" });
      // Finished but not on GitHub yet: still a runner's work, and not a new attempt.
      const publish = await claimRun(database.db, { runnerId: "third", leaseS: 60 });
      assert.equal(publish?.id, id);
      assert.equal(publish?.attempt, 2);
      await database.db
        .update(runs)
        .set({ publishedAt: sql`now()` })
        .where(eq(runs.id, id!));
      await releaseRunLease(database.db, { runId: id!, runnerId: "third" });
      assert.equal(await claimRun(database.db, { runnerId: "fourth", leaseS: 60 }), undefined);
    });
  });
}
