// Escape suite, leftovers (issue 2, DESIGN §4: "removed when the run ends", and a reaper that
// removes labelled leftovers when the runner starts). A runner killed with SIGKILL never runs
// its `finally`; the container it started must not live on as an unmetered sandbox.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { after, before, describe } from "node:test";
import { createLogger } from "../../core/logger.ts";
import { reapContainers } from "../../runner/sandbox/reap-containers.ts";
import { escapeCase } from "./helpers/escape-case.ts";
import {
  createEscapeHarness,
  listManagedContainers,
  sleep,
  type EscapeHarness,
} from "./helpers/escape-harness.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const fixture = resolve(import.meta.dirname, "fixtures/run-one-sandbox.ts");

describe("escape: leftovers", { concurrency: 1 }, () => {
  let harness: EscapeHarness;
  const h = () => harness;
  before(async () => {
    harness = await createEscapeHarness([]);
  });
  after(() => harness.close());

  escapeCase(
    h,
    "leftovers",
    "SIGKILL `airlock sandbox exec -- sleep 60` mid-run, then start `sandbox exec` again",
    "the leftover is reaped; none remains",
    async ({ observe }) => {
      const child = spawnNode([
        "bin/airlock.js",
        "sandbox",
        "exec",
        "--image",
        h().image,
        ...initFlag(),
        "--",
        "sleep",
        "60",
      ]);
      const containerId = await waitForContainer({ "airlock.owner-pid": String(child.pid) });
      await killHard(child);
      const survivors = await listManagedContainers(h().runtime, { "airlock.owner-pid": String(child.pid) });
      // Control: SIGKILL really left the container behind (no finally ran).
      assert.deepEqual(
        survivors.map((c) => c.id),
        [containerId],
      );
      const again = spawnNode([
        "bin/airlock.js",
        "sandbox",
        "exec",
        "--image",
        h().image,
        ...initFlag(),
        "--",
        "true",
      ]);
      const code = await exitOf(again);
      assert.equal(code, 0);
      const left = await listManagedContainers(h().runtime, { "airlock.owner-pid": String(child.pid) });
      observe(
        `left by SIGKILL: 1 (${containerId.slice(0, 12)}); after the next sandbox exec: ${left.length}`,
      );
      assert.deepEqual(left, []);
    },
  );

  escapeCase(
    h,
    "leftovers",
    "SIGKILL a runner process mid-run, then start the runner again (reaper for its runner id)",
    "the leftover is reaped; none remains",
    async ({ observe }) => {
      const runnerId = `escape-runner-${randomBytes(4).toString("hex")}`;
      const child = spawnNode([fixture, runnerId, h().image, h().needsInit ? "init" : ""]);
      const containerId = await waitForContainer({ "airlock.runner-id": runnerId });
      await killHard(child);
      const survivors = await listManagedContainers(h().runtime, { "airlock.runner-id": runnerId });
      assert.deepEqual(
        survivors.map((c) => c.id),
        [containerId],
      );
      const removed = await reapContainers({
        runtime: h().runtime,
        logger: createLogger("silent"),
        scope: { runnerId },
      });
      assert.deepEqual(removed, [containerId]);
      const left = await listManagedContainers(h().runtime, { "airlock.runner-id": runnerId });
      observe(`left by SIGKILL: 1; reaped on restart: ${removed.length}; remaining: ${left.length}`);
      assert.deepEqual(left, []);
    },
  );

  function initFlag(): string[] {
    return h().needsInit ? ["--init"] : [];
  }

  async function waitForContainer(labels: Record<string, string>): Promise<string> {
    for (let attempt = 0; attempt < 300; attempt += 1) {
      const [container] = await listManagedContainers(h().runtime, labels);
      // Listed, then gone before the inspect (the engine is busy with other tests' containers):
      // look again rather than fail on the 404.
      const state = container
        ? await h()
            .runtime.inspectContainer(container.id)
            .catch(() => undefined)
        : undefined;
      if (container && state?.running) return container.id;
      await sleep(50);
    }
    throw new Error(`no running container labelled ${JSON.stringify(labels)} within 15 s`);
  }
});

function spawnNode(args: string[]): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, AIRLOCK_LOG_LEVEL: "error" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => child.on("exit", (code) => resolveExit(code)));
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = exitOf(child);
  child.kill("SIGKILL");
  await exited;
  assert.equal(child.signalCode, "SIGKILL");
}
