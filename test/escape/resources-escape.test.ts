// Escape suite, resources (issue 2, DESIGN §4: PidsLimit, Memory with swap equal, NanoCpus,
// a sized tmpfs, a deadline, a cap on captured output). Each attack tries to take the host
// down with it; each must be stopped by its limit while the host keeps answering.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe } from "node:test";
import { escapeCase } from "./helpers/escape-case.ts";
import {
  createEscapeHarness,
  escapeCeiling,
  createMarkerSink,
  execFileAsync,
  sleep,
  type EscapeHarness,
} from "./helpers/escape-harness.ts";

const repoRoot = resolve(import.meta.dirname, "../..");

/** Counts bytes and drops them. */
class CountingSink extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.bytes += chunk.length;
    callback();
  }
}

// One at a time: the measurements (host latency, CPU share, RSS) must not be skewed by each other.
describe("escape: resources", { concurrency: 1 }, () => {
  let harness: EscapeHarness;
  const h = () => harness;

  before(async () => {
    harness = await createEscapeHarness(["fork-bomb", "memory-bomb", "cpu-burn"]);
  });
  after(() => harness.close());

  escapeCase(
    h,
    "resources",
    "fork bomb (every process forks forever), pids limit 64",
    "fork fails with EAGAIN at the limit; host keeps answering",
    async ({ sandbox, observe }) => {
      let done = false;
      const out = createMarkerSink("fork failed");
      const bomb = sandbox
        .run(["/workspace/probes/fork-bomb"], { limits: { pids: 64, timeoutS: 6 }, stdout: out })
        .finally(() => (done = true));
      // While the bomb presses at its limit (it says so when its first fork fails), the host
      // must still start processes promptly; the 100 ms between samples only paces them.
      const latencies: number[] = [];
      await Promise.race([out.seen, bomb]);
      while (!done) {
        const started = performance.now();
        await execFileAsync("true");
        latencies.push(performance.now() - started);
        await sleep(100);
      }
      const { result } = await bomb;
      const stdout = out.text();
      const match = /fork failed after (\d+) children errno=(\w+)/.exec(stdout);
      const worst = Math.max(...latencies);
      observe(
        `${match?.[0] ?? stdout.trim()}, pids.current ${/pids\.current=(\d+)/.exec(stdout)?.[1] ?? "?"}; host spawned \`true\` ${latencies.length}× during it, worst ${worst.toFixed(0)} ms`,
      );
      assert.ok(match, `the bomb reported no fork failure: ${stdout}`);
      const children = Number(match[1]);
      assert.equal(match[2], "EAGAIN");
      assert.ok(children >= 1 && children < 64, `children: ${children}`);
      // The cgroup's own view: at the limit, never past it.
      const current = Number(/pids\.current=(\d+)/.exec(stdout)?.[1]);
      assert.equal(/pids\.max=(\S+)/.exec(stdout)?.[1], "64", stdout);
      assert.ok(current <= 64 && current >= 60, `pids.current ${current}`);
      assert.equal(result.reason, "deadline");
      assert.ok(latencies.length >= 10, `host samples: ${latencies.length}`);
      assert.ok(worst < 2000, `the host took ${worst.toFixed(0)} ms to start a process`);
    },
  );

  escapeCase(
    h,
    "resources",
    "memory bomb (allocate and touch 1 MiB at a time), memory 64 MiB",
    "OOM-killed, reported as oom_killed",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run(["/workspace/probes/memory-bomb"], {
        limits: { memoryMb: 64, timeoutS: 30 },
      });
      const reached = stdout.trim().split("\n").pop() ?? "";
      observe(`reason ${result.reason}, exit ${String(result.exitCode)}, last progress "${reached}"`);
      assert.equal(result.reason, "oom_killed");
      assert.equal(result.exitCode, 137);
      assert.doesNotMatch(stdout, /malloc failed/);
    },
  );

  escapeCase(
    h,
    "resources",
    "busy loop in 2 threads for 2 s of wall time, cpus 0.5",
    "< 70% of one core",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run(["/workspace/probes/cpu-burn", "2", "2"], {
        limits: { cpus: 0.5 },
      });
      assert.equal(result.exitCode, 0, stdout);
      const match = /wall_ms=(\d+) cpu_ms=(\d+)/.exec(stdout);
      assert.ok(match, stdout);
      const share = Number(match[2]) / Number(match[1]);
      observe(`${match[0]} → ${(share * 100).toFixed(0)}% of one core`);
      assert.ok(share < 0.7, `CPU share ${share.toFixed(2)} is not capped at 0.5`);
      assert.ok(share > 0.1, `CPU share ${share.toFixed(2)}: the burn did not run`);
    },
  );

  escapeCase(
    h,
    "resources",
    "`sleep infinity`, deadline 2 s",
    "killed at the deadline",
    async ({ sandbox, observe }) => {
      const { result } = await sandbox.run(["sleep", "infinity"], {
        limits: { timeoutS: 2 },
        killGraceMs: 2000,
      });
      observe(`reason ${result.reason} after ${result.durationMs} ms`);
      assert.equal(result.reason, "deadline");
      assert.ok(result.durationMs >= 1900, `ended after ${result.durationMs} ms`);
      // TERM at 2 s, KILL 2 s later at the latest, plus the engine's own latency.
      assert.ok(result.durationMs < 2000 + 2000 + 3000, `ended after ${result.durationMs} ms`);
    },
  );

  escapeCase(
    h,
    "resources",
    "stdout flood (`yes`), output cap 512 MiB",
    "capped; runner RSS grows < 150 MB",
    async ({ sandbox, observe }) => {
      // A runner that held the output would grow by the whole 512 MiB. One that drops it still
      // carries freed-but-not-yet-collected chunks: V8 collects Buffers lazily (measured here
      // +13 to +69 MB peak, whatever the flood's size: 8 MiB or 256 MiB), hence a bound of
      // 150 MB, well under the flood.
      const cap = 512 * 1024 * 1024;
      // Warm-up flood first: the allocator's one-off arena growth is not growth with the flood.
      await sandbox.run(["yes", "airlock-flood"], {
        limits: { outputCapBytes: 8 * 1024 * 1024 },
        stdout: new CountingSink(),
      });
      const sink = new CountingSink();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      try {
        // The flood must end at the cap, not at the deadline: a loaded 2-core machine moved
        // 512 MiB through attach in more than the default 30 s (stress run), so it gets the
        // ceiling's 120 s. Speed is not what this case checks.
        const { result } = await sandbox.run(["yes", "airlock-flood"], {
          limits: { outputCapBytes: cap, timeoutS: escapeCeiling.timeoutS },
          stdout: sink,
        });
        peak = Math.max(peak, process.memoryUsage().rss);
        const growthMb = (peak - before) / 1e6;
        observe(`reason ${result.reason}, ${sink.bytes} bytes forwarded, RSS +${growthMb.toFixed(1)} MB`);
        assert.equal(result.reason, "output_capped");
        assert.equal(result.stdoutBytes + result.stderrBytes, cap);
        assert.equal(sink.bytes, cap);
        assert.ok(growthMb < 150, `the runner's RSS grew by ${growthMb.toFixed(1)} MB`);
      } finally {
        clearInterval(sampler);
      }
    },
  );

  escapeCase(
    h,
    "resources",
    "fill /tmp (tmpfs 16 MiB) with 100 MiB",
    "ENOSPC at 16 MiB",
    async ({ sandbox, observe }) => {
      const { result, stdout, stderr } = await sandbox.run(
        ["sh", "-c", "dd if=/dev/zero of=/tmp/fill bs=1M count=100; echo dd=$?; stat -c 'size=%s' /tmp/fill"],
        { limits: { tmpfsMb: 16 } },
      );
      assert.equal(result.exitCode, 0, stderr);
      const size = Number(/size=(\d+)/.exec(stdout)?.[1]);
      observe(`${/No space left on device/.exec(stderr)?.[0] ?? stderr.trim()}; file ${size} bytes`);
      assert.match(stderr, /No space left on device/);
      assert.match(stdout, /^dd=1$/m);
      assert.ok(size <= 16 * 1024 * 1024 && size >= 15 * 1024 * 1024, `file size ${size}`);
    },
  );

  escapeCase(
    h,
    "resources",
    "`airlock sandbox exec` under each limit (deadline, OOM, output cap)",
    "exit 124, 137, 125",
    async ({ observe }) => {
      const cases: [string[], number][] = [
        [["--timeout", "2", "--", "sleep", "infinity"], 124],
        [["--memory", "64m", "--", "/workspace/probes/memory-bomb"], 137],
        [["--output-cap", "1000000", "--", "yes"], 125],
      ];
      const seen: string[] = [];
      for (const [args, expected] of cases) {
        const { code, stdoutBytes } = await runCli([
          "sandbox",
          "exec",
          "--image",
          h().image,
          ...(h().needsInit ? ["--init"] : []),
          "--workspace",
          h().workspaceDir,
          ...args,
        ]);
        seen.push(`${args.slice(-1)[0] ?? ""}: exit ${String(code)}`);
        assert.equal(code, expected, `${args.join(" ")}: exit ${String(code)}`);
        if (expected === 125) assert.ok(stdoutBytes <= 1000000, `${stdoutBytes} bytes passed the cap`);
      }
      observe(seen.join("; "));
    },
  );
});

async function runCli(args: string[]): Promise<{ code: number | null; stdoutBytes: number }> {
  const child = spawn(process.execPath, ["bin/airlock.js", ...args], {
    cwd: repoRoot,
    env: { ...process.env, AIRLOCK_LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let stdoutBytes = 0;
  child.stdout.on("data", (chunk: Buffer) => (stdoutBytes += chunk.length));
  const code = await new Promise<number | null>((resolveExit) => child.on("close", resolveExit));
  return { code, stdoutBytes };
}
