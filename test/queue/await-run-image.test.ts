import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import { parseActionsImage } from "../../core/db/actions-image.ts";
import type { Database } from "../../core/db/open-database.ts";
import {
  claimRun,
  findRunAwaitingWorkflow,
  finishRunImage,
  getRun,
  imageWorkflowTimeoutS,
  insertRun,
  listRunEvents,
  recordImageWorkflowRun,
  releaseRunLease,
  resumeDecidedRun,
  setRunState,
} from "../../core/db/runs.ts";
import { runs } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

const image = `127.0.0.1:5000/acme/images:builtin-${"a".repeat(64)}@sha256:${"b".repeat(64)}`;

for (const kind of testDatabaseKinds()) {
  describe(
    `a run awaiting its image from the repository's workflow (${kind.name})`,
    { skip: kind.skip },
    () => {
      let database: Database;
      let drop: () => Promise<void>;
      before(async () => {
        ({ database, drop } = await kind.openPrivate());
      });
      after(async () => drop());

      const parked = async (repo: string): Promise<string> => {
        const id = newRunId();
        await insertRun(database.db, {
          id,
          kind: "github",
          state: "awaiting_approval",
          repo,
          issueNumber: 1,
          approvalDeadline: new Date(Date.now() + 3_600_000),
        });
        return id;
      };
      const awaitImage = { commitSha: "c".repeat(40), grants: ["apt:jq"], grantsSha256: "d".repeat(64) };

      it("is not claimed while the workflow builds; its report queues it once, with the image", async () => {
        const id = await parked("o/r");
        const resume = await resumeDecidedRun(database.db, id, { awaitImage });
        assert.deepEqual(resume, { resumed: true, segment: 1, awaitingImage: true });
        assert.equal((await getRun(database.db, id))?.state, "awaiting_image");
        assert.equal(await claimRun(database.db, { runnerId: "r1", leaseS: 60 }), undefined);

        await recordImageWorkflowRun(database.db, id, 4242);
        assert.equal((await findRunAwaitingWorkflow(database.db, "o/r", 4242))?.id, id);
        assert.equal(await findRunAwaitingWorkflow(database.db, "other/repo", 4242), undefined);
        assert.equal(await findRunAwaitingWorkflow(database.db, "o/r", 4243), undefined);

        assert.equal(await finishRunImage(database.db, id, { state: "built", image }), true);
        assert.equal(
          await finishRunImage(database.db, id, { state: "failed", reason: "late" }),
          false,
          "once",
        );
        const run = await getRun(database.db, id);
        assert.equal(run?.state, "queued");
        assert.deepEqual(parseActionsImage(run?.actionsImage, id), {
          ...awaitImage,
          segment: 1,
          state: "built",
          workflowRunId: 4242,
          image,
        });
        const events = (await listRunEvents(database.db, id)).map((e) => e.type);
        assert.deepEqual(events.slice(-2), ["state.awaiting_image", "state.queued"]);
        assert.equal((await claimRun(database.db, { runnerId: "r1", leaseS: 60 }))?.id, id);
      });

      it("a workflow that never reports does not hold the run: past the timeout a runner takes it", async () => {
        const id = await parked("o/silent");
        await resumeDecidedRun(database.db, id, { awaitImage });
        assert.equal(await claimRun(database.db, { runnerId: "r2", leaseS: 60 }), undefined);
        await database.db
          .update(runs)
          .set({ updatedAt: sql`now() - make_interval(secs => ${imageWorkflowTimeoutS + 60})` })
          .where(eq(runs.id, id));
        const claimed = await claimRun(database.db, { runnerId: "r2", leaseS: 60 });
        assert.equal(claimed?.id, id);
        assert.equal(claimed?.state, "awaiting_image");
        await releaseRunLease(database.db, { runId: id, runnerId: "r2" });
        await setRunState(database.db, id, "failed", { reason: "test" });
        await database.db
          .update(runs)
          .set({ publishedAt: sql`now()` })
          .where(eq(runs.id, id));
      });

      it("a failure queues it with the reason", async () => {
        const id = await parked("o/fail");
        await resumeDecidedRun(database.db, id, { awaitImage });
        assert.equal(
          await finishRunImage(database.db, id, { state: "failed", reason: "the workflow ended failure" }),
          true,
        );
        const stored = parseActionsImage((await getRun(database.db, id))?.actionsImage, id);
        assert.equal(stored?.state, "failed");
        assert.equal(stored?.reason, "the workflow ended failure");
      });
    },
  );
}
