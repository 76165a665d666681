import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { serveRunEgress, type ServedRunEgress } from "../egress/serve-run-egress.ts";
import { mintRunToken } from "../proxy/run-token.ts";
import { locateCallJournalDir } from "../proxy/create-call-journal.ts";
import { serveProxyOnSocket, type ServedProxy } from "../proxy/serve-proxy.ts";
import {
  createSandbox,
  removeSandbox,
  runSandboxed,
  type CreatedSandbox,
  type SandboxResult,
} from "../sandbox/run-sandboxed.ts";
import { buildAgentEnvironment } from "./build-agent-environment.ts";
import { ensureRunImage } from "./ensure-run-image.ts";
import type { EnsuredImage } from "./run-deps.ts";
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
  /**
   * The image and the container already made beside the checkout (openFirstSegment); this
   * segment then owns the container: it is run, or removed if the segment fails before.
   */
  opened?: OpenedSegment | undefined;
}

/** A segment's image, ensured and audited, and its container, created but not started (none once cancelled). */
export interface OpenedSegment {
  image: EnsuredImage;
  created: CreatedSandbox | undefined;
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
 *    as `image.ready`; then `segment.beforeStart` (the resume note). The first segment of a
 *    claim comes with both made beside the checkout (`segment.opened`).
 * 2. Create the container (createSegmentSandbox: the run token is its API key), unless it
 *    was made beside the checkout. Serve the proxy on the run's socket, and the egress
 *    proxy on `egress.sock` beside it (serveRunEgress: the run's `network:` grants only;
 *    served with no grant too, so attempts are answered and recorded).
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
  const { deps } = ctx;
  const { runId } = ctx.input;
  // Held until runSandboxed takes it (it removes it however the sandbox ends); removed below otherwise.
  let created = segment.opened?.created;
  let proxy: ServedProxy | undefined;
  let egress: ServedRunEgress | undefined;
  try {
    const image =
      segment.opened?.image ?? (await ctx.time("image", () => ensureRunImage(ctx, segment.number)));
    if (segment.beforeStart) await segment.beforeStart();
    // container_start: the proxies served, the container created (unless it was made beside
    // the checkout) and started; agent: from there to the proxies' last row committed.
    // Stored once the sandbox ended, in that order.
    const starting = performance.now();
    let agentFrom: number | undefined;
    const options = sandboxOptions(ctx, workspace, image, segment);
    // Cancelled (or the lease lost) already: runSandboxed answers `cancelled` without a container.
    if (created === undefined && !deps.signal?.aborted) created = await createSandboxIn(ctx, options);
    await makeSocketDir(ctx);
    proxy = await serveProxyOnSocket({
      socketPath: join(ctx.socketDir, "llm.sock"),
      runId,
      db: deps.db,
      tokenSecret: deps.tokenSecret,
      callJournalDir: locateCallJournalDir(deps.dataDir),
      upstreams: deps.upstreams,
      prices: deps.prices,
      allowedModels: deps.allowedModels ?? [],
      retry: deps.proxyRetry,
      sharedMetrics: deps.proxyMetrics,
      logger: deps.logger,
    });
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
    const handed = created;
    created = undefined;
    const sandbox = await runSandboxed({
      ...options,
      created: handed,
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
    if (created !== undefined) {
      await removeSandbox(
        deps.runtime,
        created.containerId,
        ctx.log.child({ containerId: created.containerId }),
      );
    }
  }
}

/**
 * The segment's container, created and not started: the socket folder made, a run token
 * minted (its API key; expiry = deadline + margin). Needs the image and the three folders
 * it mounts (workspace, sockets, agent state) to exist, not their content: the engine binds
 * them when the container starts. The caller owns the answer (runSandboxed, or removeSandbox).
 */
export async function createSegmentSandbox(
  ctx: RunPhaseContext,
  workspace: string,
  image: EnsuredImage,
  segment: SealedSegment,
): Promise<CreatedSandbox> {
  return createSandboxIn(ctx, sandboxOptions(ctx, workspace, image, segment));
}

async function createSandboxIn(
  ctx: RunPhaseContext,
  options: ReturnType<typeof sandboxOptions>,
): Promise<CreatedSandbox> {
  await makeSocketDir(ctx);
  return createSandbox(options);
}

/** The folder is root's and 0755 so the sandbox user can reach the 0666 socket but cannot replace it with one of its own. */
async function makeSocketDir(ctx: RunPhaseContext): Promise<void> {
  await mkdir(ctx.socketDir, { recursive: true, mode: 0o755 });
  await chmod(ctx.socketDir, 0o755);
}

function sandboxOptions(
  ctx: RunPhaseContext,
  workspace: string,
  image: EnsuredImage,
  segment: SealedSegment,
) {
  const { deps, input } = ctx;
  const token = mintRunToken({
    runId: input.runId,
    attempt: input.attempt,
    expiresAt: Math.floor(Date.now() / 1000) + input.timeoutS + tokenMarginS,
    secret: deps.tokenSecret,
  });
  return {
    runtime: deps.runtime,
    logger: deps.logger,
    image: image.ref,
    argv: [...input.agent.command],
    limits: { ...input.agent.defaultLimits, ...input.limits, timeoutS: input.timeoutS },
    ceiling: deps.ceiling,
    runId: input.runId,
    runnerId: deps.runnerId,
    workspaceDir: workspace,
    socketDir: ctx.socketDir,
    env: {
      ...buildAgentEnvironment(deps.agentEnv, token, input.model),
      ...(segment.number > 0 ? { AIRLOCK_RESUME: "1", AIRLOCK_SEGMENT: String(segment.number) } : {}),
    },
    stateDir: segment.stateDir,
  };
}
