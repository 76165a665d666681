import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import {
  runSandboxed,
  type RunSandboxedOptions,
  type SandboxResult,
} from "../../runner/sandbox/run-sandboxed.ts";
import { SandboxError } from "../../runner/sandbox/sandbox-error.ts";
import { listContainersByLabel, pickSandboxTestImage } from "./sandbox-test-image.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const { image, init } = pickSandboxTestImage();
const ceiling = {
  memoryMb: 2048,
  cpus: 2,
  pids: 512,
  timeoutS: 600,
  tmpfsMb: 256,
  outputCapBytes: 512 * 1024 * 1024,
};
const runnerId = `test-run-sandboxed-${process.pid}`;

async function run(
  argv: string[],
  overrides: Partial<RunSandboxedOptions> = {},
): Promise<SandboxResult & { out: string; err: string; runId: string }> {
  const stdout = createTextSink();
  const stderr = createTextSink();
  const runId = overrides.runId ?? newRunId();
  const result = await runSandboxed({
    runtime,
    logger,
    image,
    init,
    argv,
    ceiling,
    runId,
    runnerId,
    stdout,
    stderr,
    ...overrides,
  });
  // The promise settles only after removal: nothing labelled with this run may remain.
  assert.deepEqual(listContainersByLabel(`airlock.run-id=${runId}`), [], "container left behind");
  return { ...result, out: stdout.text(), err: stderr.text(), runId };
}

describe("runSandboxed (real Docker)", () => {
  before(async () => {
    await runtime.ping();
  });
  after(() => {
    assert.deepEqual(listContainersByLabel(`airlock.runner-id=${runnerId}`), []);
  });

  it("passes the exit code through and streams stdout and stderr apart", async () => {
    const result = await run(["sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert.equal(result.exitCode, 7);
    assert.equal(result.reason, "exited");
    assert.equal(result.out, "out\n");
    assert.equal(result.err, "err\n");
    assert.equal(result.stdoutBytes, 4);
    assert.equal(result.stderrBytes, 4);
    assert.match(result.containerId, /^[0-9a-f]{64}$/);
    const ok = await run(["true"]);
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.reason, "exited");
  });

  it("streams output while the command still runs", async () => {
    // The first line cancels the run: had output been held until the command ended, it would
    // arrive only after the 60 s sleep, with the run already over (exited, not cancelled).
    const controller = new AbortController();
    let seen = "";
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        seen += chunk.toString("utf8");
        controller.abort();
        callback();
      },
    });
    const result = await run(["sh", "-c", "echo early; sleep 60; echo late"], {
      stdout,
      signal: controller.signal,
      limits: { timeoutS: 120 },
    });
    assert.equal(result.reason, "cancelled", "the first line arrived only at the end");
    assert.equal(seen, "early\n");
  });

  it("creates the container with the hardening applied by the engine", async () => {
    const controller = new AbortController();
    const runId = newRunId();
    // Inspected once the command says it runs (listing alone can catch it still starting).
    let resolveRunning: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (resolveRunning = resolve));
    const stdout = new Writable({
      write(_chunk, _encoding, callback) {
        resolveRunning();
        callback();
      },
    });
    const pending = run(["sh", "-c", "echo running; exec sleep 30"], {
      runId,
      signal: controller.signal,
      stdout,
    });
    const ended = await Promise.race([running.then(() => undefined), pending]);
    assert.equal(ended, undefined, `the sandbox ended before it ran: ${JSON.stringify(ended)}`);
    const ids = listContainersByLabel(`airlock.run-id=${runId}`);
    assert.equal(ids.length, 1);
    const [info] = JSON.parse(execFileSync("docker", ["inspect", ids[0] ?? ""], { encoding: "utf8" })) as {
      Config: { User: string; Env: string[]; Labels: Record<string, string> };
      HostConfig: Record<string, unknown>;
    }[];
    controller.abort();
    const result = await pending;
    assert.equal(result.reason, "cancelled");
    assert.ok(info);
    assert.equal(info.Config.User, "1001:1001");
    assert.equal(info.Config.Labels["airlock.managed"], "true");
    assert.equal(info.Config.Labels["airlock.runner-id"], runnerId);
    assert.ok(!info.Config.Env.some((e) => e.startsWith("AIRLOCK_") || e.includes("TEST_DATABASE_URL")));
    const host = info.HostConfig;
    assert.equal(host.ReadonlyRootfs, true);
    assert.deepEqual(host.CapDrop, ["ALL"]);
    assert.equal(host.NetworkMode, "none");
    assert.equal(host.Privileged, false);
    assert.equal(host.Memory, 1024 * 1024 * 1024);
    assert.equal(host.MemorySwap, host.Memory);
    assert.equal(host.PidsLimit, 256);
    assert.equal(host.NanoCpus, 1e9);
    const securityOpt = host.SecurityOpt as string[];
    assert.ok(securityOpt.includes("no-new-privileges"));
    assert.ok(securityOpt.some((o) => o.startsWith("seccomp=") && o.includes("SCMP_ACT_")));
    assert.deepEqual(Object.keys(host.Tmpfs as Record<string, string>).sort(), ["/home/airlock", "/tmp"]);
    assert.ok(!JSON.stringify(host.Binds ?? []).includes("docker.sock"));
  });

  it("ends `sleep infinity` at the deadline", async () => {
    // SIGKILL would follow 30 s after the deadline's SIGTERM: ending well before says TERM did it.
    const result = await run(["sleep", "infinity"], { limits: { timeoutS: 1 }, killGraceMs: 30_000 });
    assert.equal(result.reason, "deadline");
    assert.ok(result.durationMs >= 900 && result.durationMs < 20_000, `took ${result.durationMs} ms`);
  });

  it("sends SIGKILL after the grace when the command ignores SIGTERM", async () => {
    const result = await run(["sh", "-c", "trap '' TERM; while :; do sleep 1; done"], {
      limits: { timeoutS: 1 },
      killGraceMs: 500,
    });
    assert.equal(result.reason, "deadline");
    assert.equal(result.exitCode, 137);
    // The command never ends by itself: ending at all, with 137, is the SIGKILL's doing.
    assert.ok(result.durationMs >= 1400 && result.durationMs < 20_000, `took ${result.durationMs} ms`);
  });

  it("caps a `yes` flood: forwards exactly the cap, then kills", async () => {
    const result = await run(["yes"], { limits: { outputCapBytes: 1_000_000 } });
    assert.equal(result.reason, "output_capped");
    assert.equal(result.stdoutBytes, 1_000_000);
    assert.equal(result.out.length, 1_000_000);
    assert.ok(result.out.startsWith("y\ny\n"));
  });

  it("does not grow the runner's memory with the flood it forwards", async () => {
    let seen = 0;
    const discard = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        callback();
      },
    });
    const cap = 256 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    const result = await run(["yes", "a line of flood output"], {
      stdout: discard,
      limits: { outputCapBytes: cap },
    });
    const grown = process.memoryUsage().rss - before;
    assert.equal(result.reason, "output_capped");
    assert.equal(seen, cap);
    // A buffering runner would grow by the whole 256 MiB.
    assert.ok(grown < 96 * 1024 * 1024, `rss grew by ${Math.round(grown / 1024 / 1024)} MiB`);
  });

  it("reports an OOM kill", async () => {
    // tail buffers a line that never ends: memory grows until the kernel kills it.
    const result = await run(["tail", "/dev/zero"], { limits: { memoryMb: 32 } });
    assert.deepEqual([result.reason, result.exitCode], ["oom_killed", 137]);
  });

  it("reports a failed command whose child ran out of memory as out of memory", async () => {
    const result = await run(["sh", "-c", "tail /dev/zero; echo tail ended $?; exit 3"], {
      limits: { memoryMb: 32 },
    });
    assert.equal(result.out, "tail ended 137\n");
    assert.deepEqual([result.reason, result.exitCode], ["oom_killed", 3]);
  });

  it("keeps the exit of a command that survived its child's OOM kill and exited 0", async () => {
    // The engine marks this container OOM-killed as it does the one above; the command itself
    // was not killed and said it succeeded, so its exit stands (no inspect is spent on 0).
    const result = await run(["sh", "-c", "tail /dev/zero; echo tail ended $?; exit 0"], {
      limits: { memoryMb: 32 },
    });
    assert.equal(result.out, "tail ended 137\n");
    assert.deepEqual([result.reason, result.exitCode], ["exited", 0]);
  });

  it("is cancelled by an abort signal, during the run and before it", async () => {
    const controller = new AbortController();
    // Cancelled once the command says it runs: during the run, whatever the machine's load.
    const abortOnOutput = new Writable({
      write(_chunk, _encoding, callback) {
        controller.abort();
        callback();
      },
    });
    const result = await run(["sh", "-c", "echo running; exec sleep infinity"], {
      signal: controller.signal,
      stdout: abortOnOutput,
    });
    assert.equal(result.reason, "cancelled");
    // `sleep infinity` never ends by itself: any prompt end is the cancel's.
    assert.ok(result.durationMs < 20_000, `took ${result.durationMs} ms`);

    const early = await run(["true"], { signal: AbortSignal.abort() });
    assert.equal(early.reason, "cancelled");
    assert.equal(early.exitCode, null);
    assert.equal(early.containerId, "");
  });

  it("clamps limits to the ceiling it is given", async () => {
    const result = await run(["true"], {
      limits: { memoryMb: 100_000, pids: 100_000 },
      ceiling: { memoryMb: 256, cpus: 1, pids: 32, timeoutS: 10 },
    });
    assert.equal(result.limits.memoryMb, 256);
    assert.equal(result.limits.pids, 32);
    assert.equal(result.limits.timeoutS, 10);
  });

  it("refuses to start without its seccomp profile or workspace, and names a missing image", async () => {
    const runId = newRunId();
    await assert.rejects(
      run(["true"], { runId, seccompProfilePath: "/nonexistent/seccomp-profile.json" }),
      (error: unknown) => error instanceof SandboxError && /seccomp profile missing/.test(error.message),
    );
    assert.deepEqual(listContainersByLabel(`airlock.run-id=${runId}`), []);
    await assert.rejects(
      run(["true"], { workspaceDir: "/nonexistent/airlock-workspace" }),
      (error: unknown) => error instanceof SandboxError && /is not an existing directory/.test(error.message),
    );
    await assert.rejects(
      run(["true"], { image: "airlock/does-not-exist:0.0.0" }),
      (error: unknown) =>
        error instanceof SandboxError && /airlock\/does-not-exist:0\.0\.0/.test(error.message),
    );
  });
});
