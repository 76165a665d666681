import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { hostname } from "node:os";
import { after, describe, it } from "node:test";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildSandboxSpec } from "../../runner/sandbox/build-sandbox-spec.ts";
import { loadSeccompProfile } from "../../runner/sandbox/load-seccomp-profile.ts";
import { reapContainers } from "../../runner/sandbox/reap-containers.ts";
import { buildSandboxLabels } from "../../runner/sandbox/sandbox-labels.ts";
import { defaultSandboxLimits } from "../../runner/sandbox/sandbox-limits.ts";
import { listContainersByLabel, pickSandboxTestImage } from "./sandbox-test-image.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const { image } = pickSandboxTestImage();
const suffix = `${process.pid}-${Date.now().toString(36)}`;

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync("true");
  assert.ok(child.pid > 0);
  return child.pid;
}

async function leave(
  runnerId: string,
  runId: string,
  ownerPid: number,
  ownerHost = hostname(),
): Promise<string> {
  const spec = buildSandboxSpec({
    image,
    argv: ["sleep", "infinity"],
    limits: defaultSandboxLimits,
    seccompProfile: await loadSeccompProfile(),
    labels: buildSandboxLabels({ runId, runnerId, ownerPid, ownerHost }),
  });
  const id = await runtime.createContainer(spec);
  await runtime.startContainer(id);
  return id;
}

describe("reapContainers (real Docker)", () => {
  const runners = [`test-reap-a-${suffix}`, `test-reap-b-${suffix}`, `test-reap-c-${suffix}`];
  after(async () => {
    for (const runnerId of runners) {
      for (const id of listContainersByLabel(`airlock.runner-id=${runnerId}`))
        await runtime.removeContainer(id);
    }
  });

  it("removes the containers of dead owners on this host and keeps live owners' and other hosts'", async () => {
    const runnerId = runners[0] ?? "";
    const dead = await leave(runnerId, "dead", deadPid());
    const live = await leave(runnerId, "live", process.pid);
    const elsewhere = await leave(runnerId, "elsewhere", deadPid(), "another-host");
    const removed = await reapContainers({
      runtime,
      logger,
      scope: { deadOwnersOnThisHost: true, runnerId },
    });
    assert.deepEqual(removed, [dead]);
    const remaining = listContainersByLabel(`airlock.runner-id=${runnerId}`).sort();
    assert.deepEqual(remaining, [live.slice(0, 12), elsewhere.slice(0, 12)].sort());
  });

  it("removes every container of a runner id at runner start, and no other runner's", async () => {
    const [, mine = "", theirs = ""] = runners;
    await leave(mine, "one", process.pid);
    await leave(mine, "two", deadPid());
    const kept = await leave(theirs, "three", deadPid());
    const removed = await reapContainers({ runtime, logger, scope: { runnerId: mine } });
    assert.equal(removed.length, 2);
    assert.deepEqual(listContainersByLabel(`airlock.runner-id=${mine}`), []);
    assert.deepEqual(listContainersByLabel(`airlock.runner-id=${theirs}`), [kept.slice(0, 12)]);
  });
});
