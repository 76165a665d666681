import type { Command } from "commander";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";
import { defaultCeilingExtras, defaultSandboxLimits } from "../../runner/sandbox/sandbox-limits.ts";
import type { SandboxEndReason } from "../../runner/sandbox/run-sandboxed.ts";
import { SandboxError } from "../../runner/sandbox/sandbox-error.ts";
import type { CliContext } from "../cli-context.ts";
import { parseSandboxExecOptions, type RawSandboxExecFlags } from "../parse-sandbox-exec-options.ts";

/** Containers started by this command carry this runner id; its reaper only touches those. */
const sandboxExecRunnerId = "sandbox-exec";

/** Exit codes for endings other than the command's own exit, following timeout(1) and the shells. */
const exitCodes: Record<Exclude<SandboxEndReason, "exited">, number> = {
  deadline: 124,
  output_capped: 125,
  oom_killed: 137,
  cancelled: 130,
};

export function registerSandboxCommand(program: Command, ctx: CliContext): void {
  const sandbox = program
    .command("sandbox")
    .description("run commands in Airlock's hardened sandbox")
    .enablePositionalOptions();
  sandbox
    .command("exec")
    .description(
      "run one command sealed in a throw-away container, streaming its output; exits with its exit code",
    )
    .usage("[options] -- <command...>")
    .argument("<command...>", "the program and its arguments (an argument array; no shell runs it)")
    .option(
      "--image <image>",
      "image to run (default: the base image, airlock/base:<agent-images/base/VERSION>)",
    )
    .option("--init", "run the engine's init as PID 1, for an image without one (Airlock's images have tini)")
    .option(
      "--timeout <seconds>",
      `deadline; then SIGTERM, and SIGKILL 5 s later (default: ${defaultSandboxLimits.timeoutS})`,
    )
    .option(
      "--memory <size>",
      `memory limit, swap equal (no swap), e.g. 512m, 1g (default: ${defaultSandboxLimits.memoryMb}m)`,
    )
    .option("--cpus <n>", `CPU limit, e.g. 0.5 (default: ${defaultSandboxLimits.cpus})`)
    .option("--pids <n>", `process/thread limit (default: ${defaultSandboxLimits.pids})`)
    .option(
      "--tmp-size <size>",
      `size of the /tmp and $HOME tmpfs each (default: ${defaultSandboxLimits.tmpfsMb}m)`,
    )
    .option("--workspace <dir>", "host folder mounted read-write at /workspace (the working directory)")
    .option(
      "--output-cap <bytes>",
      `stdout+stderr cap; past it the output is dropped and the command killed (default: ${defaultSandboxLimits.outputCapBytes})`,
    )
    .passThroughOptions()
    .addHelpText("after", () => describeSandbox(ctx))
    .action(async (argv: string[], flags: RawSandboxExecFlags) => {
      process.exitCode = await execInSandbox(ctx, argv, flags);
    });
}

async function execInSandbox(ctx: CliContext, argv: string[], flags: RawSandboxExecFlags): Promise<number> {
  const options = parseSandboxExecOptions(flags);
  const settings = ctx.settings();
  const logger = ctx.logger({ command: "sandbox exec" });
  // Operator output is the command's own; runner logs only when something is wrong or asked for.
  if (ctx.env.AIRLOCK_LOG_LEVEL === undefined) logger.level = "warn";

  // Loaded here, not at the top: every `airlock` call imports every command file, and
  // the Docker client alone costs more start-up time than the benchmark's budget.
  const [
    { createDockerContainerRuntime },
    { runSandboxed },
    { reapContainers },
    { resolveSandboxLimits },
    { newRunId },
  ] = await Promise.all([
    import("../../runner/container/docker-container-runtime.ts"),
    import("../../runner/sandbox/run-sandboxed.ts"),
    import("../../runner/sandbox/reap-containers.ts"),
    import("../../runner/sandbox/sandbox-limits.ts"),
    import("../../core/ids.ts"),
  ]);

  const ceiling = settings.sandboxCeiling;
  const { clamped, limits } = resolveSandboxLimits(options.limits, ceiling);
  for (const name of clamped) {
    ctx.stderr.write(
      `airlock: ${name} lowered to the operator ceiling (${limits[name]}); see airlock sandbox exec --help\n`,
    );
  }
  const runId = newRunId();
  // Bound here so the adapter's own lines carry the run id next to the container id.
  const runtime = createDockerContainerRuntime({
    dockerHost: settings.dockerHost,
    logger: logger.child({ runId }),
  });
  // Leftovers of earlier `sandbox exec` processes that died (SIGKILL, crash) before their
  // finally ran; containers of live siblings are kept.
  const reaping = reapContainers({
    runtime,
    logger,
    scope: { deadOwnersOnThisHost: true, runnerId: sandboxExecRunnerId },
  }).catch((error: unknown) => logger.warn({ err: (error as Error).message }, "reaping leftovers failed"));

  const controller = new AbortController();
  let signalName: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signalName ??= signal;
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A reader that goes away (`| head -1`) must not kill us before the container is removed.
  const ignoreBrokenPipe = () => undefined;
  ctx.stdout.on("error", ignoreBrokenPipe);
  try {
    const result = await runSandboxed({
      runtime,
      logger,
      image: options.image ?? baseImageRef(),
      init: flags.init === true,
      argv,
      limits,
      ceiling,
      runId,
      runnerId: sandboxExecRunnerId,
      workspaceDir: options.workspaceDir,
      stdout: ctx.stdout,
      stderr: ctx.stderr,
      signal: controller.signal,
    }).catch((error: unknown) => {
      if (error instanceof Error && error.name === "ContainerRuntimeError") {
        // No HTTP status: the engine never answered. With one, the engine refused (e.g. the
        // image's command does not exist) and its own message says why.
        const unreachable = (error as { statusCode?: number }).statusCode === undefined;
        throw new SandboxError(
          unreachable
            ? `${error.message}\n  Is the Docker engine running and reachable (DOCKER_HOST=${settings.dockerHost ?? "unset: the local socket"})?`
            : error.message,
          { cause: error },
        );
      }
      throw error;
    });
    switch (result.reason) {
      case "exited":
        return result.exitCode ?? 1;
      case "deadline":
        ctx.stderr.write(
          `airlock: the command passed its deadline of ${result.limits.timeoutS}s and was killed\n`,
        );
        break;
      case "oom_killed":
        ctx.stderr.write(
          `airlock: the command ran out of memory (limit ${result.limits.memoryMb} MiB) and was killed\n`,
        );
        break;
      case "output_capped":
        ctx.stderr.write(
          `airlock: the command's output passed the cap of ${result.limits.outputCapBytes} bytes; the rest was dropped and the command killed\n`,
        );
        break;
      case "cancelled":
        ctx.stderr.write(`airlock: cancelled by ${signalName ?? "signal"}; the sandbox was removed\n`);
        break;
    }
    return exitCodes[result.reason];
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    ctx.stdout.off("error", ignoreBrokenPipe);
    await reaping;
  }
}

function describeSandbox(ctx: CliContext): string {
  let ceiling: { memoryMb: number; cpus: number; pids: number; timeoutS: number } | undefined;
  let problem = "";
  try {
    ceiling = ctx.settings().sandboxCeiling;
  } catch (error) {
    problem = `  (the environment has errors, so the ceilings below are unknown: ${(error as Error).message})\n`;
  }
  const c = (value: number | undefined, unit: string) => (value === undefined ? "?" : `${value}${unit}`);
  return `
Hardening (every container; see DESIGN §4):
  user 1001:1001 (non-root), read-only root filesystem, all capabilities dropped,
  no-new-privileges, the seccomp profile in runner/sandbox/seccomp-profile.json,
  no network (NetworkMode none: only lo), no Docker socket, no host environment
  (only HOME, PATH, LANG), /tmp and $HOME as sized noexec,nosuid,nodev tmpfs,
  pids/memory/CPU limits with swap = memory, an init that forwards signals,
  labels airlock.managed/run-id/runner-id, and removal when the command ends.
  Containers left by a killed 'sandbox exec' are removed by the next one.

Limits: default → operator ceiling (raise the ceiling with the variable named):
  --timeout     ${defaultSandboxLimits.timeoutS}s → ${c(ceiling?.timeoutS, "s")} (AIRLOCK_MAX_TIMEOUT_S)
  --memory      ${defaultSandboxLimits.memoryMb}m → ${c(ceiling?.memoryMb, "m")} (AIRLOCK_MAX_MEMORY_MB)
  --cpus        ${defaultSandboxLimits.cpus} → ${c(ceiling?.cpus, "")} (AIRLOCK_MAX_CPUS)
  --pids        ${defaultSandboxLimits.pids} → ${c(ceiling?.pids, "")} (AIRLOCK_MAX_PIDS)
  --tmp-size    ${defaultSandboxLimits.tmpfsMb}m → ${defaultCeilingExtras.tmpfsMb}m
  --output-cap  ${defaultSandboxLimits.outputCapBytes} → ${defaultCeilingExtras.outputCapBytes} bytes
  Default image: ${describeBaseImage()}
  A value above its ceiling is lowered to the ceiling, with a warning.
${problem}
Exit status: the command's own; 124 deadline, 125 output cap, 137 out of memory,
130 cancelled (SIGINT/SIGTERM: the container is killed and removed first), 2 bad options.

Examples:
  airlock sandbox exec -- node --version
  airlock sandbox exec --timeout 30 --memory 512m --workspace . -- npm test
`;
}

function describeBaseImage(): string {
  try {
    return baseImageRef();
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  }
}
