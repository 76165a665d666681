import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { parseActionsImage } from "../../core/db/actions-image.ts";
import { failGrantedCapability, listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { getRun, imageWorkflowTimeoutS } from "../../core/db/runs.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { buildAgentImage } from "../images/build-agent-image.ts";
import { buildGrantedImage } from "../images/build-granted-image.ts";
import { GrantedImageBuildError } from "../images/granted-image-build-error.ts";
import {
  formatImageGrant,
  imageGrantKinds,
  normalizeImageGrants,
  type ImageGrant,
} from "../images/image-grant.ts";
import { ImageBuildError } from "../images/image-build-error.ts";
import { pullGrantedImage } from "../images/pull-granted-image.ts";
import type { EnsuredImage } from "./run-deps.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/**
 * The image a run segment starts (issue 10 §5): the agent's image with every apt, npm
 * and pip request of the run that stands granted (pre-approvals included), built on the
 * cached agent image (Docker's cache makes a repeat a no-op). When a rebuild fails, the
 * requests granted since the last segment are marked failed with the build's log tail
 * (the thread is told through `input.onCapabilityFailed`), and the image is built again
 * without them: the run resumes without what could not be installed.
 *
 * When the repository's workflow built this segment's image (issue 11, `runs.actions_image`),
 * that image is pulled by digest and its labels checked (pullGrantedImage) instead; a
 * mismatch, or a workflow that failed, takes the same path as a failed rebuild. What the
 * run keeps after that is built locally.
 */
export async function ensureRunImage(ctx: RunPhaseContext, segment: number): Promise<EnsuredImage> {
  const { deps, input } = ctx;
  const rows = await listCapabilityRequests(deps.db, input.runId);
  const local = deps.ensureImage ?? ensureImageWith(deps);
  const granted = rows.filter(isImageGrant);
  const fromActions = await readActionsImage(ctx, segment);
  const ensure = fromActions ?? local;
  try {
    return await ensureWith(ctx, ensure, granted);
  } catch (error) {
    const fresh = granted.filter((r) => r.segment >= segment - 1 && segment > 0);
    if (!(error instanceof ImageBuildError) || fresh.length === 0) throw error;
    const tail = error instanceof GrantedImageBuildError ? error.logTail.join("\n") : error.message;
    const reason = `the image rebuild failed: ${firstLine(error.message)}`;
    ctx.log.warn(
      { err: error.message, failed: fresh.map((r) => r.id) },
      "rebuild with the new grants failed; resuming without them",
    );
    for (const row of fresh) {
      const failed = await failGrantedCapability(deps.db, {
        runId: input.runId,
        id: row.id,
        reason,
        secret: deps.tokenSecret,
      });
      if (failed) await input.onCapabilityFailed?.(failed, tail);
    }
    return ensureWith(
      ctx,
      local,
      granted.filter((r) => !fresh.includes(r)),
    );
  }
}

/** The image the workflow built for `segment`, as an ensure function; undefined when none was dispatched. */
async function readActionsImage(
  ctx: RunPhaseContext,
  segment: number,
): Promise<((agent: AgentDefinition, grants: readonly ImageGrant[]) => Promise<EnsuredImage>) | undefined> {
  const run = await getRun(ctx.deps.db, ctx.input.runId);
  const recorded = parseActionsImage(run?.actionsImage, ctx.input.runId);
  if (!recorded || recorded.segment !== segment) return undefined;
  return async (agent) => {
    if (recorded.state !== "built" || recorded.image === undefined) {
      throw new ImageBuildError(
        recorded.reason ??
          `the image workflow${recorded.workflowRunId ? ` (run ${recorded.workflowRunId})` : ""} did not report back within ${imageWorkflowTimeoutS / 3600} h`,
      );
    }
    const pulled = await pullGrantedImage(ctx.deps.runtime, {
      agent,
      runId: ctx.input.runId,
      image: recorded.image,
      grants: recorded.grants,
      grantsSha256: recorded.grantsSha256,
      logger: ctx.deps.logger,
    });
    ctx.log.info(
      { image: pulled.ref, imageId: pulled.id, pullMs: pulled.pullMs },
      "resuming on the workflow's image",
    );
    return { ref: pulled.ref, id: pulled.id, grants: pulled.grants, sbomDelta: pulled.sbomDelta };
  };
}

async function ensureWith(
  ctx: RunPhaseContext,
  ensure: (agent: AgentDefinition, grants: readonly ImageGrant[]) => Promise<EnsuredImage>,
  rows: readonly CapabilityRequest[],
): Promise<EnsuredImage> {
  const grants = normalizeImageGrants(
    rows.map((r) => ({
      kind: r.kind as ImageGrant["kind"],
      name: r.name,
      ...(r.version ? { version: r.version } : {}),
    })),
  );
  const image = await ensure(ctx.input.agent, grants);
  if (grants.length === 0) {
    await ctx.audit("image.ready", { ref: image.ref, id: image.id });
    return image;
  }
  assertImageHasGrants(image, grants);
  await ctx.audit("image.ready", {
    ref: image.ref,
    id: image.id,
    grants: image.grants,
    grantedBy: [...new Set(rows.map((r) => r.decidedBy ?? "unknown"))].join(", "),
    sbomDelta: image.sbomDelta,
  });
  return image;
}

function isImageGrant(row: CapabilityRequest): boolean {
  return row.state === "granted" && (imageGrantKinds as readonly string[]).includes(row.kind);
}

function ensureImageWith(deps: {
  runtime: ContainerRuntime;
  logger: RunPhaseContext["log"];
  pipIndexUrl?: string | undefined;
}) {
  return async (agent: AgentDefinition, grants: readonly ImageGrant[]): Promise<EnsuredImage> => {
    if (grants.length > 0) {
      const built = await buildGrantedImage(deps.runtime, {
        agent,
        grants,
        logger: deps.logger,
        pipIndexUrl: deps.pipIndexUrl,
      });
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

function firstLine(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
