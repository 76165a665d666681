import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import type { Writable } from "node:stream";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { ContainerRuntimeError } from "../container/container-runtime.ts";
import { buildSandboxSpec } from "./build-sandbox-spec.ts";
import { forwardCappedOutput } from "./forward-capped-output.ts";
import { loadSeccompProfile } from "./load-seccomp-profile.ts";
import { SandboxError } from "./sandbox-error.ts";
import { buildSandboxLabels } from "./sandbox-labels.ts";
import { resolveSandboxLimits, type SandboxCeiling, type SandboxLimits } from "./sandbox-limits.ts";

export { defaultSandboxLimits, type SandboxLimits, type SandboxCeiling } from "./sandbox-limits.ts";

export type SandboxEndReason = "exited" | "deadline" | "oom_killed" | "output_capped" | "cancelled";

export interface SandboxResult {
  /** The container's exit status; null when it was cancelled before it started. */
  exitCode: number | null;
  reason: SandboxEndReason;
  durationMs: number;
  containerId: string;
  /** Bytes forwarded to the sinks (never more than the output cap in total). */
  stdoutBytes: number;
  stderrBytes: number;
  /** The limits actually applied, after clamping to the ceiling. */
  limits: SandboxLimits;
}

export interface RunSandboxedOptions {
  runtime: ContainerRuntime;
  logger: Logger;
  image: string;
  /** Argument array; never a shell string. */
  argv: string[];
  limits?: Partial<SandboxLimits> | undefined;
  /** The operator's ceiling (Settings.sandboxCeiling); requested limits never exceed it. */
  ceiling: SandboxCeiling;
  runId: string;
  runnerId: string;
  workspaceDir?: string | undefined;
  socketDir?: string | undefined;
  /** The agent's state folder, mounted read-write at /airlock-state (owned by the sandbox user). */
  stateDir?: string | undefined;
  env?: Record<string, string> | undefined;
  stdout?: Writable | undefined;
  stderr?: Writable | undefined;
  signal?: AbortSignal | undefined;
  /** Called once the engine started the container (a run's phase timings split there). */
  onStarted?: (() => void) | undefined;
  /** Run the engine's init as PID 1: for images without one (Airlock's base image has tini). */
  init?: boolean | undefined;
  /** Time between the deadline's SIGTERM and SIGKILL. Default 5 s. */
  killGraceMs?: number | undefined;
  /** Default: runner/sandbox/seccomp-profile.json. */
  seccompProfilePath?: string | undefined;
}

const streamDrainTimeoutMs = 2000;

/** A sandbox container created (not started) by createSandbox, for runSandboxed to run. */
export interface CreatedSandbox {
  containerId: string;
  /** The limits it was created with, after clamping to the ceiling. */
  limits: SandboxLimits;
}

/**
 * Steps 1 and 2's create, alone: a run creates its container while its checkout is still
 * being written (issue 15's overlap), and runs it once the files are there. Whoever holds
 * the answer owns the container until runSandboxed takes it: remove it if it never runs.
 */
export async function createSandbox(
  opts: Omit<RunSandboxedOptions, "stdout" | "stderr" | "signal" | "onStarted" | "killGraceMs">,
): Promise<CreatedSandbox> {
  const { limits } = resolveSandboxLimits(opts.limits, opts.ceiling);
  const seccompProfile = await loadSeccompProfile(opts.seccompProfilePath);
  const spec = buildSandboxSpec({
    image: opts.image,
    argv: opts.argv,
    limits,
    seccompProfile,
    workspaceDir: opts.workspaceDir,
    socketDir: opts.socketDir,
    stateDir: opts.stateDir,
    env: opts.env,
    init: opts.init,
    labels: buildSandboxLabels({
      runId: opts.runId,
      runnerId: opts.runnerId,
      ownerPid: process.pid,
      ownerHost: hostname(),
    }),
  });
  await requireDirectory(opts.workspaceDir, "workspace");
  await requireDirectory(opts.socketDir, "socket directory");
  await requireDirectory(opts.stateDir, "state directory");
  try {
    const containerId = await opts.runtime.createContainer(spec);
    opts.logger
      .child({ runId: opts.runId, containerId })
      .info({ image: opts.image, limits }, "sandbox created");
    return { containerId, limits };
  } catch (error) {
    if (error instanceof ContainerRuntimeError && error.statusCode === 404) {
      throw new SandboxError(
        `image ${opts.image} is not available to the Docker engine; build it (airlock images build) or choose another image`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Run one command in a hardened, throw-away container and report how it ended.
 *
 * 1. Clamp the limits, load the seccomp profile, build the spec (refuses to run without a profile).
 * 2. Create (unless `created` was made by createSandbox), attach (before start, so no output
 *    is lost), start.
 * 3. Forward output up to the cap; on the deadline TERM then KILL; on the cap or an abort KILL.
 * 4. Wait, drain the streams, and for an exit other than 0, inspect for an OOM kill.
 * 5. Always remove the container, however the run ended (a `created` one included).
 */
export async function runSandboxed(
  opts: RunSandboxedOptions & { created?: CreatedSandbox | undefined },
): Promise<SandboxResult> {
  const runtime = opts.runtime;
  const killGraceMs = opts.killGraceMs ?? 5000;
  if (opts.signal?.aborted) {
    const limits = opts.created?.limits ?? resolveSandboxLimits(opts.limits, opts.ceiling).limits;
    const containerId = opts.created?.containerId ?? "";
    if (opts.created !== undefined) {
      await removeSandbox(runtime, containerId, opts.logger.child({ runId: opts.runId, containerId }));
    }
    return {
      exitCode: null,
      reason: "cancelled",
      durationMs: 0,
      containerId,
      stdoutBytes: 0,
      stderrBytes: 0,
      limits,
    };
  }
  const { containerId, limits } = opts.created ?? (await createSandbox(opts));
  const log = opts.logger.child({ runId: opts.runId, containerId });

  let reason: SandboxEndReason | undefined;
  let started = false;
  let startedAt = performance.now();
  let endedAt: number | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const kills: Promise<void>[] = [];

  function kill(signal: "SIGTERM" | "SIGKILL"): void {
    kills.push(
      runtime.killContainer(containerId, signal).catch((error: unknown) => {
        log.warn({ signal, err: (error as Error).message }, "sandbox kill failed");
      }),
    );
  }
  function end(why: Exclude<SandboxEndReason, "exited" | "oom_killed">): void {
    if (reason !== undefined) return;
    reason = why;
    log.info({ reason: why }, "sandbox stopped by the runner");
    if (why === "deadline") {
      // TERM first so a well-behaved agent can flush; KILL if it has not gone after the grace.
      kill("SIGTERM");
      graceTimer = setTimeout(() => kill("SIGKILL"), killGraceMs);
    } else {
      kill("SIGKILL");
    }
  }
  const onAbort = () => end("cancelled");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  // A cancel that arrived while the engine was creating the container has no listener to hear it.
  if (opts.signal?.aborted) end("cancelled");

  try {
    const streams = await runtime.attachContainer(containerId, { stdin: false });
    const output = forwardCappedOutput({
      stdout: streams.stdout,
      stderr: streams.stderr,
      stdoutSink: opts.stdout,
      stderrSink: opts.stderr,
      capBytes: limits.outputCapBytes,
      onCapped: () => end("output_capped"),
    });
    try {
      let exitCode: number | null = null;
      if (reason === undefined) {
        startedAt = performance.now();
        await runtime.startContainer(containerId);
        started = true;
        opts.onStarted?.();
        // A kill sent while the engine was still starting the container can miss it.
        if (reason !== undefined) kill("SIGKILL");
        deadlineTimer = setTimeout(() => end("deadline"), limits.timeoutS * 1000);
        exitCode = (await runtime.waitContainer(containerId)).exitCode;
        endedAt = performance.now();
        await output.finished(streamDrainTimeoutMs);
      }
      if (started && reason === undefined && (await wasOomKilled(runtime, containerId, exitCode))) {
        reason = "oom_killed";
      }
      const result: SandboxResult = {
        exitCode,
        reason: reason ?? "exited",
        durationMs: endedAt === undefined ? 0 : Math.round(endedAt - startedAt),
        containerId,
        stdoutBytes: output.stdoutBytes,
        stderrBytes: output.stderrBytes,
        limits,
      };
      log.info(
        {
          exitCode,
          reason: result.reason,
          durationMs: result.durationMs,
          stdoutBytes: result.stdoutBytes,
          stderrBytes: result.stderrBytes,
        },
        "sandbox ended",
      );
      return result;
    } finally {
      output.detach();
      streams.close();
      streams.stdout.destroy();
      streams.stderr.destroy();
    }
  } finally {
    clearTimeout(deadlineTimer);
    clearTimeout(graceTimer);
    opts.signal?.removeEventListener("abort", onAbort);
    await Promise.all(kills);
    await removeSandbox(runtime, containerId, log);
  }
}

/** The engine would silently create a missing bind source, owned by root: refuse instead. */
async function requireDirectory(path: string | undefined, what: string): Promise<void> {
  if (path === undefined) return;
  const info = await stat(path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new SandboxError(`sandbox ${what} ${path} is not an existing directory; create it first`);
  }
}

/**
 * The engine records an OOM kill from a separate event that can land just after the exit
 * it caused; an exit by SIGKILL the runner did not send is re-checked briefly so a memory
 * bomb is not reported as an ordinary exit.
 *
 * A command that exited 0 was not killed, whatever the kernel did to a helper it started
 * and survived: its own exit stands, and the engine is not asked (the inspect is a round
 * trip every `sandbox exec -- true` would otherwise pay, issue 15). Any other exit is
 * checked: a failed command whose child ran out of memory is reported as out of memory.
 */
async function wasOomKilled(
  runtime: ContainerRuntime,
  containerId: string,
  exitCode: number | null,
): Promise<boolean> {
  if (exitCode === 0) return false;
  // Up to ~2 s: on a loaded engine (CI runs two test files at once) the event was seen to
  // land more than half a second after the exit.
  const attempts = exitCode === 137 ? 14 : 1;
  for (let attempt = 1; ; attempt += 1) {
    if ((await runtime.inspectContainer(containerId)).oomKilled) return true;
    if (attempt >= attempts) return false;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** Remove with one retry; a leftover is logged loudly (the reaper gets it on the next start). */
export async function removeSandbox(
  runtime: ContainerRuntime,
  containerId: string,
  log: Logger,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await runtime.removeContainer(containerId);
      log.debug("sandbox removed");
      return;
    } catch (error) {
      if (attempt >= 2) {
        log.error(
          { err: (error as Error).message },
          "sandbox container could not be removed; the reaper will retry",
        );
        return;
      }
    }
  }
}
