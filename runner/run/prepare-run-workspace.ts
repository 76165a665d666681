import { mkdir } from "node:fs/promises";
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
 * `onWorkspace` hears when the (still empty) workspace folder exists: what needs only the
 * folder, not its files, can start then (openFirstSegment creates the container).
 */
export async function prepareRunWorkspace(
  ctx: RunPhaseContext,
  onWorkspace?: (dir: string) => void,
): Promise<RunCheckout> {
  const { input } = ctx;
  const { maxDiskMb } = ctx.deps;
  // The state write and the credentials (an installation token, or the operator's helper) need nothing of each other.
  const [, credentials] = await Promise.all([ctx.enter("preparing"), ctx.askCredentials()]);
  const checkout = await prepareRunCheckout({
    repo: input.source.remote,
    ref: input.source.ref,
    runId: input.runId,
    baseDir: ctx.runDir,
    credentials,
    logger: ctx.deps.logger,
    mirrorCache: ctx.deps.mirrorCache,
    signal: ctx.deps.signal,
    createWorkspace:
      maxDiskMb === undefined && onWorkspace === undefined
        ? undefined
        : async (dir) => {
            if (maxDiskMb === undefined) {
              await mkdir(dir, { mode: 0o755 });
            } else {
              ctx.workspaceVolume = await mountWorkspaceVolume({
                dir,
                imagePath: join(ctx.runDir, "workspace.img"),
                sizeMb: maxDiskMb,
                logger: ctx.log,
              });
            }
            onWorkspace?.(dir);
          },
  });
  await writeTaskFile({ workspace: checkout.workspace, prompt: input.prompt });
  await ctx.audit("workspace.prepared", {
    baseCommit: checkout.baseCommit,
    defaultBranch: checkout.defaultBranch,
  });
  return checkout;
}
