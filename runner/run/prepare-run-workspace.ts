import { join } from "node:path";
import { mountWorkspaceVolume } from "../sandbox/mount-workspace-volume.ts";
import { prepareRunCheckout, type RunCheckout } from "../relay/prepare-run-checkout.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";
import { writeTaskFile } from "./write-task-file.ts";

/**
 * Phase 1: clone into `<runDir>/host` (from the host's mirror of the repository when
 * deps.mirrorCache is set: only what changed since the last run is fetched), export the workspace the agent edits, write the
 * task. With AIRLOCK_MAX_DISK_MB the workspace is first mounted as a filesystem of that
 * size (ctx.workspaceVolume). An http(s) remote is cloned with the source's credentials (the operator's own git
 * credential helper, or an installation token); they stay in this process and git's env.
 */
export async function prepareRunWorkspace(ctx: RunPhaseContext): Promise<RunCheckout> {
  const { input } = ctx;
  const { maxDiskMb } = ctx.deps;
  await ctx.enter("preparing");
  const checkout = await prepareRunCheckout({
    repo: input.source.remote,
    ref: input.source.ref,
    runId: input.runId,
    baseDir: ctx.runDir,
    credentials: await ctx.askCredentials(),
    logger: ctx.deps.logger,
    mirrorCache: ctx.deps.mirrorCache,
    signal: ctx.deps.signal,
    createWorkspace:
      maxDiskMb === undefined
        ? undefined
        : async (dir) => {
            ctx.workspaceVolume = await mountWorkspaceVolume({
              dir,
              imagePath: join(ctx.runDir, "workspace.img"),
              sizeMb: maxDiskMb,
              logger: ctx.log,
            });
          },
  });
  await writeTaskFile({ workspace: checkout.workspace, prompt: input.prompt });
  await ctx.audit("workspace.prepared", {
    baseCommit: checkout.baseCommit,
    defaultBranch: checkout.defaultBranch,
  });
  return checkout;
}
