import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { observeSandboxStarts } from "../../runner/sandbox/observe-sandbox-starts.ts";
import { runSandboxed } from "../../runner/sandbox/run-sandboxed.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";
import { listContainersByLabel, pickSandboxTestImage } from "./sandbox-test-image.ts";

/** The sandbox start time on the runner's /metrics (issue 13 §3), on real Docker. */
describe("observeSandboxStarts (real Docker)", () => {
  const logger = createLogger("silent");
  const docker = createDockerContainerRuntime({ logger });
  const { image, init } = pickSandboxTestImage();
  const runnerId = `test-observe-starts-${process.pid}`;

  it("times a sandbox from create to start, once, and leaves other containers alone", async () => {
    const observed: number[] = [];
    const runtime = observeSandboxStarts(docker, (seconds) => observed.push(seconds));
    const began = performance.now();
    const result = await runSandboxed({
      runtime,
      logger,
      image,
      init,
      argv: ["true"],
      ceiling: { memoryMb: 512, cpus: 1, pids: 64, timeoutS: 60, tmpfsMb: 16, outputCapBytes: 1024 * 1024 },
      runId: newRunId(),
      runnerId,
      stdout: createTextSink(),
      stderr: createTextSink(),
    });
    const whole = (performance.now() - began) / 1000;
    assert.equal(result.exitCode, 0);
    assert.equal(observed.length, 1, "one sandbox, one observation");
    const [seconds = -1] = observed;
    assert.ok(seconds > 0 && seconds < whole, `start took ${seconds}s of the run's ${whole}s`);

    // A container without the sandbox labels (an image build's, say) is not a sandbox start.
    const id = await runtime.createContainer({
      image,
      cmd: ["true"],
      env: {},
      user: "1001:1001",
      labels: { "airlock.test-owner": runnerId },
      readonlyRootfs: true,
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      networkMode: "none",
      pidsLimit: 16,
      memoryBytes: 64 * 1024 * 1024,
      memorySwapBytes: 64 * 1024 * 1024,
      nanoCpus: 500_000_000,
      tmpfs: {},
      binds: [],
      init,
    });
    try {
      await runtime.startContainer(id);
    } finally {
      await runtime.removeContainer(id).catch(() => {});
    }
    assert.equal(observed.length, 1);
    assert.deepEqual(listContainersByLabel(`airlock.runner-id=${runnerId}`), []);
    assert.deepEqual(listContainersByLabel(`airlock.test-owner=${runnerId}`), []);
  });
});
