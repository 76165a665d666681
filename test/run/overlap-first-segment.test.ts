import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { auditEvents, runs } from "../../core/db/schema.ts";
import type { ContainerRuntime } from "../../runner/container/container-runtime.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { ImageBuildError } from "../../runner/images/image-build-error.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import { sandboxLabelKeys } from "../../runner/sandbox/sandbox-labels.ts";
import { createSourceRepo, git } from "../helpers/git-repo.ts";
import { startScriptedLocalRuns, type ScriptedLocalRuns } from "../helpers/start-scripted-local-runs.ts";

const tokenSecret = "test-token-secret-overlap-0123456789abcdef";

/**
 * Issue 15's overlap: the image and the container's create run beside the checkout
 * (runner/run/open-first-segment.ts). What each branch may not do when another fails, or
 * when the run's lease is lost while they run: real Docker, git, Postgres, proxy, relay;
 * only the engine's create is wrapped, to act at the moment it answers.
 */
describe("the image and the container made beside the checkout", () => {
  let h: ScriptedLocalRuns;

  before(async () => {
    h = await startScriptedLocalRuns("overlap", tokenSecret);
  });

  after(async () => {
    await h?.close();
  });

  /** The real engine, with `createContainer` replaced by `create(real)`. */
  function wrapCreate(
    create: (real: ContainerRuntime["createContainer"]) => ContainerRuntime["createContainer"],
  ) {
    const real = h.deps().runtime;
    const createContainer = create((spec) => real.createContainer(spec));
    return new Proxy(real, {
      get: (target, method: keyof ContainerRuntime) =>
        method === "createContainer" ? createContainer : target[method],
    });
  }

  async function ledgerOf(runId: string): Promise<string[]> {
    const rows = await h.database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.runId, runId))
      .orderBy(asc(auditEvents.seq));
    return rows.map((r) => r.type);
  }

  async function containersOf(runId: string) {
    return h.deps().runtime.listContainers({ [sandboxLabelKeys.runId]: runId });
  }

  it("the lease is lost once the container was made beside the checkout: it is removed, never started, and nothing is relayed or pushed", async () => {
    const repo = await createSourceRepo(join(h.dir, "lost-lease"), { "README.md": "# lost\n" });
    const lease = new AbortController();
    const created: string[] = [];
    const runtime = wrapCreate((real) => async (spec) => {
      const id = await real(spec);
      created.push(id);
      // The runner's heartbeat found another runner holding the run: it aborts the run's signal.
      lease.abort(new Error("this runner lost the run's lease"));
      return id;
    });
    // No script is defined: an agent that started would call the model, which refuses and fails the test.
    const result = await recordAndRunLocalRun(h.deps({ runtime, signal: lease.signal }), {
      repo,
      agent: "builtin",
      prompt: "Never runs. [[script:lost-lease]]",
    });
    assert.equal(result.outcome, "cancelled", result.summaryMarkdown);
    assert.equal(created.length, 1);
    assert.equal(result.sandbox?.containerId, created[0]);
    assert.equal(result.sandbox?.exitCode, null, "the container never started");
    assert.deepEqual(await containersOf(result.runId), []);
    assert.equal(result.branch, undefined);
    assert.equal(git(repo, ["branch", "--list", "airlock/*"]).trim(), "");
    const ledger = await ledgerOf(result.runId);
    assert.ok(ledger.includes("relay.skipped"), ledger.join(", "));
    assert.ok(!ledger.includes("relay.started"), ledger.join(", "));
    assert.equal(h.upstream.requests.filter((r) => r.script?.startsWith("lost-lease")).length, 0);
    assert.equal((await verifyAuditChain(h.database.db, result.runId, tokenSecret)).ok, true);
    await assert.rejects(access(join(h.dir, "data", "runs", result.runId)));
  });

  it("the container's create fails beside the checkout: the run fails once, the checkout's folder is removed, no container is left", async () => {
    const repo = await createSourceRepo(join(h.dir, "create-fails"), { "README.md": "# create\n" });
    const runId = `rcreatefails${process.pid}`;
    let creates = 0;
    const runtime = wrapCreate(() => async () => {
      creates += 1;
      throw new Error("the engine refused the create: no space left on device");
    });
    await assert.rejects(
      recordAndRunLocalRun(h.deps({ runtime }), { repo, agent: "builtin", prompt: "x", runId }),
      /no space left on device/,
    );
    assert.equal(creates, 1);
    const [row] = await h.database.db.select().from(runs).where(eq(runs.id, runId));
    assert.equal(row?.state, "failed");
    assert.match(row?.outcomeReason ?? "", /no space left on device/);
    // The checkout ended before the failure was recorded, and the image's entry follows it.
    assert.deepEqual(await ledgerOf(runId), [
      "run.started",
      "workspace.prepared",
      "image.ready",
      "run.error",
      "run.finished",
    ]);
    assert.equal((await verifyAuditChain(h.database.db, runId, tokenSecret)).ok, true);
    assert.deepEqual(await containersOf(runId), []);
    await assert.rejects(access(join(h.dir, "data", "runs", runId)));
  });

  it("the image fails beside the checkout: the checkout is awaited, one failure is recorded, no container is made", async () => {
    const repo = await createSourceRepo(join(h.dir, "image-fails"), { "README.md": "# image\n" });
    const runId = `rimagefails${process.pid}`;
    let creates = 0;
    const runtime = wrapCreate((real) => async (spec) => {
      creates += 1;
      return real(spec);
    });
    await assert.rejects(
      recordAndRunLocalRun(
        h.deps({
          runtime,
          // Fails at once, long before the clone is done.
          ensureImage: () => Promise.reject(new ImageBuildError("the base image could not be pulled")),
        }),
        { repo, agent: "builtin", prompt: "x", runId },
      ),
      /the base image could not be pulled/,
    );
    assert.equal(creates, 0);
    const [row] = await h.database.db.select().from(runs).where(eq(runs.id, runId));
    assert.equal(row?.state, "failed");
    // workspace.prepared before run.error: the failure waited for the checkout it ran beside
    // (whose folder is then removed); no image.ready: there was no image.
    assert.deepEqual(await ledgerOf(runId), [
      "run.started",
      "workspace.prepared",
      "run.error",
      "run.finished",
    ]);
    assert.deepEqual(await containersOf(runId), []);
    await assert.rejects(access(join(h.dir, "data", "runs", runId)));
  });

  it("the checkout fails while the image is ensured: the image's entry is not chained, one failure is recorded", async () => {
    const runId = `rcheckoutfails${process.pid}`;
    let release: () => void = () => undefined;
    const imageAsked = new Promise<void>((resolve) => (release = resolve));
    const real = h.deps();
    await assert.rejects(
      recordAndRunLocalRun(
        h.deps({
          // The image answers only once it was asked: it is still being ensured when the clone fails.
          ensureImage: async (agent) => {
            release();
            const built = await buildAgentImage(real.runtime, { agent });
            return { ref: built.ref, id: built.image.id };
          },
        }),
        { repo: join(h.dir, "no-such-repo"), agent: "builtin", prompt: "x", runId },
      ),
      /does not exist/,
    );
    await imageAsked;
    assert.deepEqual(await ledgerOf(runId), ["run.started", "run.error", "run.finished"]);
    assert.deepEqual(await containersOf(runId), []);
    await assert.rejects(access(join(h.dir, "data", "runs", runId)));
  });
});
