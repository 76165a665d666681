import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAgent } from "../../core/agents/get-agent.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { createImageCheckCache } from "../../runner/images/create-image-check-cache.ts";

describe("the runner's image check cache (real Docker)", () => {
  it("checks an agent's image once per period, and again after it", async () => {
    const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
    let clock = 0;
    let builds = 0;
    const counting = new Proxy(runtime, {
      get(target, key: keyof typeof runtime) {
        // inspectImage is asked for the base on every check: it counts the checks.
        if (key === "inspectImage") {
          return (ref: string) => {
            if (ref.startsWith("airlock/base:")) builds += 1;
            return target.inspectImage(ref);
          };
        }
        return target[key];
      },
    });
    const ensure = createImageCheckCache(counting, { ttlMs: 1000, now: () => clock });
    const agent = getAgent("builtin");
    const first = await ensure(agent);
    assert.match(first.ref, /^airlock\/builtin:[0-9a-f]{64}$/);
    assert.match(first.id, /^sha256:/);
    assert.equal(builds, 1);
    clock = 999;
    assert.deepEqual(await ensure(agent), first);
    assert.equal(builds, 1, "within the period: no second check");
    clock = 1000;
    assert.deepEqual(await ensure(agent), first);
    assert.equal(builds, 2, "after the period: checked again");
  });
});
