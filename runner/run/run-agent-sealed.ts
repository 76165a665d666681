import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { buildAgentImage } from "../images/build-agent-image.ts";
import { buildGrantedImage } from "../images/build-granted-image.ts";
import { formatImageGrant, normalizeImageGrants, type ImageGrant } from "../images/image-grant.ts";
import { ImageBuildError } from "../images/image-build-error.ts";
import { mintRunToken } from "../proxy/run-token.ts";
import { serveProxyOnSocket, type ServedProxy } from "../proxy/serve-proxy.ts";
import { runSandboxed, type SandboxResult } from "../sandbox/run-sandboxed.ts";
import { buildAgentEnvironment } from "./build-agent-environment.ts";
import type { EnsuredImage } from "./run-deps.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/** Time the run token outlives the deadline: the agent's last call may start just before it. */
const tokenMarginS = 300;

export interface SealedAgentResult {
  sandbox: SandboxResult;
  /** Set when the proxy could not commit every llm_calls row: the ledger is incomplete. */
  recordError?: string | undefined;
}

/**
 * Phase 2:
 * 1. Ensure the agent's image (with the run's pre-approved grants, if any: the granted
 *    image must say it holds them); audit `image.ready` with its id, grants, approver and
 *    SBOM delta.
 * 2. Serve the proxy on the run's socket with a minted run token (expiry = deadline + margin).
 * 3. Run the agent sealed; the token is its API key, AIRLOCK_MODEL its model; no host env.
 * 4. Close the proxy, which commits every llm_calls row before anything is decided from them.
 */
export async function runAgentSealed(ctx: RunPhaseContext, workspace: string): Promise<SealedAgentResult> {
  const { deps, input } = ctx;
  const { agent, runId } = input;
  const grants = normalizeImageGrants(input.preapproved?.grants ?? []);
  const image = await (deps.ensureImage ?? ensureImageWith(deps))(agent, grants);
  if (grants.length === 0) {
    await ctx.audit("image.ready", { ref: image.ref, id: image.id });
  } else {
    assertImageHasGrants(image, grants);
    await ctx.audit("image.ready", {
      ref: image.ref,
      id: image.id,
      grants: image.grants,
      grantedBy: input.preapproved?.approvedBy,
      sbomDelta: image.sbomDelta,
    });
  }

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
  try {
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
      env: buildAgentEnvironment(deps.agentEnv, token, input.model),
      stdout: deps.agentStdout,
      stderr: deps.agentStderr,
      signal: deps.signal,
    });
    const closing = proxy.close();
    proxy = undefined;
    let recordError: string | undefined;
    await closing.catch((error: unknown) => {
      recordError = (error as Error).message;
    });
    return { sandbox, recordError };
  } finally {
    await proxy?.close();
  }
}

function ensureImageWith(deps: { runtime: ContainerRuntime; logger: RunPhaseContext["log"] }) {
  return async (agent: AgentDefinition, grants: readonly ImageGrant[]): Promise<EnsuredImage> => {
    if (grants.length > 0) {
      const built = await buildGrantedImage(deps.runtime, { agent, grants, logger: deps.logger });
      return { ref: built.ref, id: built.image.id, grants: built.grants, sbomDelta: built.sbomDelta };
    }
    const built = await buildAgentImage(deps.runtime, { agent });
    return { ref: built.ref, id: built.image.id };
  };
}

/**
 * An image given for a run with grants must name each of them (npm versions may have been
 * resolved from an unpinned grant, so those compare by name) and its SBOM delta: an
 * `ensureImage` that ignored the grants would otherwise run the agent without them,
 * silently.
 */
function assertImageHasGrants(
  image: EnsuredImage,
  asked: readonly ImageGrant[],
): asserts image is EnsuredImage & {
  grants: ImageGrant[];
  sbomDelta: NonNullable<EnsuredImage["sbomDelta"]>;
} {
  const built = image.grants ?? [];
  const missing = asked.filter(
    (g) =>
      !built.some(
        (b) => b.kind === g.kind && b.name === g.name && (g.version === undefined || b.version === g.version),
      ),
  );
  if (missing.length > 0 || image.sbomDelta === undefined) {
    throw new ImageBuildError(
      `the image ${image.ref} was not built with the run's grants (missing: ${
        missing.map(formatImageGrant).join(", ") || "its SBOM delta"
      }); refusing to run the agent without them`,
    );
  }
}
