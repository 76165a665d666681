// Escape suite, credentials (issue 2, DESIGN §4: "no host environment", "no real key ...
// ever enters the container"). A random canary is planted where the runner keeps its
// secrets — its own environment and its data directory — and every place an agent could
// look is searched for it. A control string passed on purpose proves each search can see.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe } from "node:test";
import { escapeCase } from "./helpers/escape-case.ts";
import {
  createEscapeHarness,
  createMarkerSink,
  describeSandboxEnd,
  execFileAsync,
  type EscapeHarness,
} from "./helpers/escape-harness.ts";

const canary = `airlock-canary-${randomBytes(16).toString("hex")}`;
const control = `airlock-control-${randomBytes(16).toString("hex")}`;
/** Variables a runner really holds secrets in; the canary goes into each. */
const secretVariables = [
  "AIRLOCK_ESCAPE_CANARY",
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "AIRLOCK_TOKEN_SECRET",
  "GITHUB_TOKEN",
];
const repoRoot = resolve(import.meta.dirname, "../..");

/** Everything an agent can read that could carry a secret: env, every process's environ, the readable trees, PID 1. */
const dumpEverything = [
  "env",
  "for f in /proc/[0-9]*/environ; do cat \"$f\" 2>/dev/null | tr '\\0' '\\n'; done",
  "find /etc /home /workspace /run /tmp -xdev 2>/dev/null",
  "find /etc /home /workspace /run /tmp -xdev -type f -readable -size -4M -exec cat {} + 2>/dev/null",
  "for f in environ cmdline status mountinfo mounts cgroup limits comm stat; do cat /proc/1/$f 2>/dev/null; done",
  "cat /proc/self/mountinfo /proc/cmdline 2>/dev/null",
  "echo dump-complete",
].join("; ");

/** Counts the bytes it sees and remembers which needles appeared, holding nothing else. */
class SearchSink extends Writable {
  readonly found = new Set<string>();
  bytes = 0;
  tail = "";
  private carry = "";
  private readonly needles: string[];
  constructor(needles: string[]) {
    super();
    this.needles = needles;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.bytes += chunk.length;
    const text = this.carry + chunk.toString("latin1");
    for (const needle of this.needles) if (text.includes(needle)) this.found.add(needle);
    const keep = Math.max(...this.needles.map((n) => n.length), 200);
    this.carry = text.slice(-keep);
    this.tail = text.slice(-200);
    callback();
  }
}

describe("escape: credentials", { concurrency: 2 }, () => {
  let harness: EscapeHarness;
  const h = () => harness;
  const saved: Record<string, string | undefined> = {};
  const plantedFiles: string[] = [];

  before(async () => {
    harness = await createEscapeHarness([]);
    for (const name of secretVariables) {
      saved[name] = process.env[name];
      process.env[name] = canary;
    }
    // The runner's data directory (AIRLOCK_DATA_DIR, default ./.airlock) and the host's temp dir.
    const dataDir = resolve(repoRoot, process.env.AIRLOCK_DATA_DIR ?? ".airlock");
    await mkdir(dataDir, { recursive: true });
    for (const path of [
      join(dataDir, `escape-canary-${process.pid}.key`),
      join(tmpdir(), `escape-canary-${process.pid}.key`),
    ]) {
      await writeFile(path, `${canary}\n`, { mode: 0o644 });
      plantedFiles.push(path);
    }
  });

  after(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await Promise.all(plantedFiles.map((path) => rm(path, { force: true })));
    await harness.close();
  });

  escapeCase(
    h,
    "credentials",
    "search env, /proc/*/environ and readable files (/etc /home /workspace /run /tmp /proc/1) for a secret of the runner",
    "not found",
    async ({ sandbox, observe }) => {
      const sink = new SearchSink([canary, control]);
      const { result } = await sandbox.run(["sh", "-c", dumpEverything], {
        env: { AIRLOCK_ESCAPE_CONTROL: control },
        stdout: sink,
        stderr: sink,
        limits: { outputCapBytes: 128 * 1024 * 1024 },
      });
      observe(`searched ${(sink.bytes / 1024).toFixed(0)} KiB of output`);
      assert.equal(result.reason, "exited");
      assert.match(sink.tail, /dump-complete/, "the dump ran to its end");
      assert.ok(sink.found.has(control), "control: a variable passed on purpose is visible to the search");
      assert.ok(!sink.found.has(canary), "the runner's secret is visible inside the sandbox");
    },
  );

  escapeCase(
    h,
    "credentials",
    "docker inspect of a running sandbox",
    "no secret in it",
    async ({ sandbox, observe }) => {
      const abort = new AbortController();
      // The process inside says when it runs; until the abort below it keeps running.
      const ready = createMarkerSink("sandbox-is-running");
      const running = sandbox.run(["sh", "-c", "echo sandbox-is-running; exec sleep 120"], {
        env: { AIRLOCK_ESCAPE_CONTROL: control },
        signal: abort.signal,
        stdout: ready,
        limits: { timeoutS: 120 },
      });
      const ended = Promise.allSettled([running]).then(([outcome]) => outcome!);
      /** What became of the run, once it is over: for a message when the container is not there. */
      const whatHappened = async () => {
        abort.abort();
        return describeSandboxEnd(await ended);
      };
      try {
        const first = await Promise.race([ready.seen.then(() => undefined), ended]);
        if (first !== undefined)
          assert.fail(`the sandbox ended before it was seen running: ${describeSandboxEnd(first)}`);
        const runId = sandbox.runIds[0]!;
        const [container] = await h().runtime.listContainers({ "airlock.run-id": runId });
        if (!container)
          assert.fail(`the running sandbox of run ${runId} is not listed; ${await whatHappened()}`);
        const inspected = await execFileAsync("docker", ["inspect", container.id]).then(
          ({ stdout }) => stdout,
          async (error: unknown) =>
            assert.fail(
              `docker inspect of the running sandbox ${container.id} failed (${(error as Error).message.trim()}); ${await whatHappened()}`,
            ),
        );
        observe(`inspected ${inspected.length} bytes while running`);
        assert.ok(inspected.includes(control), "control: the variable passed on purpose shows in inspect");
        assert.ok(!inspected.includes(canary), "docker inspect shows the runner's secret");
      } finally {
        abort.abort();
      }
      const outcome = await ended;
      assert.equal(
        outcome.status === "fulfilled" && outcome.value.result.reason,
        "cancelled",
        describeSandboxEnd(outcome),
      );
    },
  );

  escapeCase(
    h,
    "credentials",
    "`airlock sandbox exec` started with secrets in its environment: env and /proc/*/environ",
    "not found",
    async ({ observe }) => {
      const script =
        "env; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < \"$f\"; done 2>/dev/null; echo dump-complete";
      const child = spawn(
        process.execPath,
        [
          "bin/airlock.js",
          "sandbox",
          "exec",
          "--image",
          h().image,
          ...(h().needsInit ? ["--init"] : []),
          "--",
          "sh",
          "-c",
          script,
        ],
        {
          cwd: repoRoot,
          env: { ...process.env, AIRLOCK_LOG_LEVEL: "error" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      const sink = new SearchSink([canary]);
      child.stdout.pipe(sink);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolveExit) => child.on("close", resolveExit));
      observe(`CLI exit ${String(code)}, ${sink.bytes} bytes searched`);
      assert.equal(code, 0, stderr);
      assert.match(sink.tail, /dump-complete/);
      assert.ok(!sink.found.has(canary), "the CLI passed its environment into the sandbox");
      assert.ok(!stderr.includes(canary), "the CLI printed a secret");
    },
  );
});
