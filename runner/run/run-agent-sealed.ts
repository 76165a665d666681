import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { serveRunEgress, type ServedRunEgress } from "../egress/serve-run-egress.ts";
import { mintRunToken } from "../proxy/run-token.ts";
import { serveProxyOnSocket, type ServedProxy } from "../proxy/serve-proxy.ts";
import { runSandboxed, type SandboxResult } from "../sandbox/run-sandboxed.ts";
import { buildAgentEnvironment } from "./build-agent-environment.ts";
import { ensureRunImage } from "./ensure-run-image.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/** Time the run token outlives the deadline: the agent's last call may start just before it. */
const tokenMarginS = 300;

/** Which part of the run this container is (issue 10 §6) and the agent's state folder. */
export interface SealedSegment {
  /** 0 for the first container; n after the run resumed n times. */
  number: number;
  /** Host folder mounted at /airlock-state (AIRLOCK_STATE_DIR). */
  stateDir: string | undefined;
  /** After the image is ready, before the container starts (the resume note names failed rebuilds). */
  beforeStart?: (() => Promise<void>) | undefined;
}

export interface SealedAgentResult {
  sandbox: SandboxResult;
  /** Set when the proxy could not commit every llm_calls row: the ledger is incomplete. */
  recordError?: string | undefined;
  /** Set when the egress proxy's connection records could not all be chained: the ledger is incomplete. */
  egressRecordError?: string | undefined;
}

/**
 * Phase 2:
 * 1. Ensure the agent's image with the run's granted packages (ensureRunImage), audited
 *    as `image.ready`; then `segment.beforeStart` (the resume note).
 * 2. Serve the proxy on the run's socket with a minted run token (expiry = deadline + margin),
 *    and the egress proxy on `egress.sock` beside it (serveRunEgress: the run's `network:`
 *    grants only; served with no grant too, so attempts are answered and recorded).
 * 3. Run the agent sealed; the token is its API key, AIRLOCK_MODEL its model; no host env.
 *    Its state folder is mounted at /airlock-state; a resumed segment sets AIRLOCK_RESUME=1.
 * 4. Close both proxies: every llm_calls row is committed, and every egress connection and
 *    blocked attempt chained, before anything is decided from them.
 */
export async function runAgentSealed(
  ctx: RunPhaseContext,
  workspace: string,
  segment: SealedSegment = { number: 0, stateDir: undefined },
): Promise<SealedAgentResult> {
  const { deps, input } = ctx;
  const { agent, runId } = input;
  const image = await ctx.time("image", () => ensureRunImage(ctx, segment.number));
  if (segment.beforeStart) await segment.beforeStart();
  // container_start: the proxies served, the container created and started; agent: from
  // there to the proxies' last row committed. Stored once the sandbox ended, in that order.
  const starting = performance.now();
  let agentFrom: number | undefined;

  // The folder is root's and 0755 so the sandbox user can reach the 0666 socket but
  // cannot replace it with one of its own.
  await mkdir(ctx.socketDir, { recursive: true, mode: 0o755 });
  await chmod(ctx.socketDir, 0o755);
  const token = mintRunToken({
    runId,
    attempt: input.attempt,
    expiresAt: Math.floor(Date.now() / 1000) + input.timeoutS + tokenMarginS,
    secret: deps.tokenSecret,
  });
  let proxy: ServedProxy | undefined = await serveProxyOnSocket({
    socketPath: join(ctx.socketDir, "llm.sock"),
    runId,
    db: deps.db,
    tokenSecret: deps.tokenSecret,
    upstreams: deps.upstreams,
    prices: deps.prices,
    allowedModels: deps.allowedModels ?? [],
    retry: deps.proxyRetry,
    sharedMetrics: deps.proxyMetrics,
    logger: deps.logger,
  });
  let egress: ServedRunEgress | undefined;
  try {
    egress = await serveRunEgress({
      db: deps.db,
      runId,
      socketPath: join(ctx.socketDir, "egress.sock"),
      secret: deps.tokenSecret,
      logger: deps.logger,
      limits: deps.egressLimits,
      forTests: deps.egressForTests,
    });
    await ctx.enter("running");
    const sandbox = await runSandboxed({
      runtime: deps.runtime,
      logger: deps.logger,
      image: image.ref,
      argv: [...agent.command],
      limits: { ...agent.defaultLimits, ...input.limits, timeoutS: input.timeoutS },
      ceiling: deps.ceiling,
      runId,
      runnerId: deps.runnerId,
      workspaceDir: workspace,
      socketDir: ctx.socketDir,
      env: {
        ...buildAgentEnvironment(deps.agentEnv, token, input.model),
        ...(segment.number > 0 ? { AIRLOCK_RESUME: "1", AIRLOCK_SEGMENT: String(segment.number) } : {}),
      },
      stateDir: segment.stateDir,
      stdout: deps.agentStdout,
      stderr: deps.agentStderr,
      signal: deps.signal,
      onStarted: () => {
        agentFrom = performance.now();
      },
    });
    const closing = proxy.close();
    proxy = undefined;
    const egressClosing = egress.close();
    egress = undefined;
    let recordError: string | undefined;
    let egressRecordError: string | undefined;
    await closing.catch((error: unknown) => {
      recordError = (error as Error).message;
    });
    await egressClosing.catch((error: unknown) => {
      egressRecordError = (error as Error).message;
    });
    if (agentFrom !== undefined) {
      await ctx.recordPhase("container_start", agentFrom - starting);
      await ctx.recordPhase("agent", performance.now() - agentFrom);
    }
    return { sandbox, recordError, egressRecordError };
  } finally {
    await proxy?.close();
    await egress?.close();
  }
}
