import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createLogger } from "../../../core/logger.ts";
import type { ContainerRuntime } from "../../../runner/container/container-runtime.ts";
import { createDockerContainerRuntime } from "../../../runner/container/docker-container-runtime.ts";
import { baseImageRef } from "../../../runner/images/base-image-ref.ts";
import {
  runSandboxed,
  type RunSandboxedOptions,
  type SandboxCeiling,
  type SandboxResult,
} from "../../../runner/sandbox/run-sandboxed.ts";
import { sandboxLabelKeys } from "../../../runner/sandbox/sandbox-labels.ts";

export const execFileAsync = promisify(execFile);

/** The image the suite attacks from: the real base image when built, else plain Debian. */
const preferredImage = baseImageRef();
const fallbackImage = "debian:bookworm-slim";
const probesDir = fileURLToPath(new URL("../probes/", import.meta.url));
const sandboxUid = 1001;

/** Generous enough that every case can ask for what it needs; the cases ask for less. */
export const escapeCeiling: SandboxCeiling = {
  memoryMb: 2048,
  cpus: 2,
  pids: 1024,
  timeoutS: 120,
  outputCapBytes: 1024 * 1024 * 1024,
};

export interface EscapeHarness {
  runtime: ContainerRuntime;
  image: string;
  /** The image has no init of its own (plain Debian): ask for the engine's. */
  needsInit: boolean;
  runnerId: string;
  /** Host folder mounted at /workspace; compiled probes live in /workspace/probes. */
  workspaceDir: string;
  close(): Promise<void>;
}

export interface SandboxRun {
  result: SandboxResult;
  stdout: string;
  stderr: string;
}

/**
 * One harness per test file: a runtime, a workspace owned by the sandbox user with the
 * probes compiled into it (static, so they run in any image), and a runner id of its own so
 * nothing here touches another file's containers.
 */
export async function createEscapeHarness(probes: string[] = []): Promise<EscapeHarness> {
  const logger = createLogger("silent");
  const runtime = createDockerContainerRuntime({ logger });
  await runtime.ping();
  const image = (await runtime.inspectImage(preferredImage)) !== undefined ? preferredImage : fallbackImage;
  const runnerId = `escape-${randomBytes(4).toString("hex")}`;
  const workspaceDir = await mkdtemp(join(tmpdir(), "airlock-escape-"));
  await mkdir(join(workspaceDir, "probes"));
  try {
    await Promise.all(
      probes.map((name) =>
        execFileAsync("gcc", [
          "-static",
          "-O2",
          "-o",
          join(workspaceDir, "probes", name),
          join(probesDir, `${name}.c`),
          "-lpthread",
        ]),
      ),
    );
  } catch (error) {
    throw new Error(
      `compiling the escape probes (test/escape/probes/*.c) needs gcc and a static libc on the host ` +
        `(Debian: apt-get install gcc libc6-dev): ${(error as Error).message}`,
      { cause: error },
    );
  }
  await chownTree(workspaceDir, sandboxUid);
  return {
    runtime,
    image,
    needsInit: image === fallbackImage,
    runnerId,
    workspaceDir,
    async close() {
      await rm(workspaceDir, { recursive: true, force: true });
      // Nothing this file started may outlive it.
      const left = await runtime.listContainers({
        [sandboxLabelKeys.managed]: "true",
        [sandboxLabelKeys.runnerId]: runnerId,
      });
      assert.deepEqual(
        left.map((c) => c.id),
        [],
        `containers of runner ${runnerId} were left behind`,
      );
    },
  };
}

async function chownTree(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  await chmod(path, 0o755);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, uid);
    else await chown(child, uid, uid);
  }
}

/** A sink that keeps at most `maxBytes` (the rest is counted, not held), so a flood cannot grow the test. */
export function createBoundedSink(maxBytes = 1024 * 1024): Writable & { text(): string; bytes(): number } {
  const chunks: Buffer[] = [];
  let held = 0;
  let seen = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (held < maxBytes) {
        const piece = chunk.subarray(0, maxBytes - held);
        chunks.push(Buffer.from(piece));
        held += piece.length;
      }
      callback();
    },
  });
  return Object.assign(sink, {
    text: () => Buffer.concat(chunks).toString("utf8"),
    bytes: () => seen,
  });
}

/**
 * A bounded sink that resolves `seen` once `marker` has been written to it: the process
 * inside the sandbox prints the marker to say it really runs (or reached a state), so a test
 * waits on that instead of polling the engine or guessing a delay (a container can be listed
 * while it is still starting or already gone).
 */
export function createMarkerSink(
  marker: string,
  maxBytes = 1024 * 1024,
): Writable & { seen: Promise<void>; text(): string } {
  const held = createBoundedSink(maxBytes);
  let tail = "";
  let resolveSeen: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (resolveSeen = resolve));
  const sink = new Writable({
    write(chunk: Buffer, encoding, callback) {
      tail = (tail + chunk.toString("utf8")).slice(-(marker.length + 4096));
      if (tail.includes(marker)) resolveSeen();
      held.write(chunk, encoding, callback);
    },
  });
  return Object.assign(sink, { seen, text: () => held.text() });
}

/** How a sandbox run ended, in words for an assertion message. */
export function describeSandboxEnd(outcome: PromiseSettledResult<SandboxRun>): string {
  if (outcome.status === "rejected") {
    return `the run failed: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`;
  }
  const { result, stderr } = outcome.value;
  return (
    `the run ended: reason ${result.reason}, exit code ${String(result.exitCode)}, after ${result.durationMs} ms` +
    (stderr.trim() === "" ? "" : `, stderr: ${stderr.trim().slice(-500)}`)
  );
}

export type SandboxCallOptions = Partial<
  Pick<RunSandboxedOptions, "limits" | "env" | "signal" | "stdout" | "stderr" | "killGraceMs" | "socketDir">
> & {
  /** Default true: mount the harness workspace at /workspace. */
  workspace?: boolean;
};

/**
 * The per-case view of the sandbox: every run gets a fresh run id, and `assertNoLeftovers`
 * proves that none of this case's containers outlived it (DESIGN §4: removed when the run ends).
 */
export function createCaseSandbox(harness: EscapeHarness) {
  const runIds: string[] = [];
  const containerIds: string[] = [];
  async function run(argv: string[], options: SandboxCallOptions = {}): Promise<SandboxRun> {
    const runId = `esc${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
    runIds.push(runId);
    const stdout = createBoundedSink();
    const stderr = createBoundedSink();
    const result = await runSandboxed({
      runtime: harness.runtime,
      logger: createLogger("silent"),
      image: harness.image,
      init: harness.needsInit,
      argv,
      limits: { timeoutS: 30, ...options.limits },
      ceiling: escapeCeiling,
      runId,
      runnerId: harness.runnerId,
      workspaceDir: options.workspace === false ? undefined : harness.workspaceDir,
      socketDir: options.socketDir,
      env: options.env,
      stdout: options.stdout ?? stdout,
      stderr: options.stderr ?? stderr,
      signal: options.signal,
      killGraceMs: options.killGraceMs ?? 2000,
    });
    containerIds.push(result.containerId);
    return { result, stdout: stdout.text(), stderr: stderr.text() };
  }
  async function assertNoLeftovers(): Promise<void> {
    for (const runId of runIds) {
      const left = await harness.runtime.listContainers({
        [sandboxLabelKeys.managed]: "true",
        [sandboxLabelKeys.runId]: runId,
      });
      assert.deepEqual(
        left.map((c) => c.id),
        [],
        `containers of run ${runId} outlived it`,
      );
    }
  }
  return { run, runIds, containerIds, assertNoLeftovers };
}

/** `name value` lines (probe output) as a map; later lines win. */
export function parseProbeLines(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) map.set(line.slice(0, space), line.slice(space + 1).trim());
  }
  return map;
}

/** Container ids labelled airlock.managed=true, with their labels. */
export async function listManagedContainers(
  runtime: ContainerRuntime,
  extra: Record<string, string> = {},
): Promise<{ id: string; labels: Record<string, string> }[]> {
  return runtime.listContainers({ [sandboxLabelKeys.managed]: "true", ...extra });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
