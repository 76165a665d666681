import type { RunCheckout } from "../relay/prepare-run-checkout.ts";
import { removeSandbox } from "../sandbox/run-sandboxed.ts";
import { ensureRunImage } from "./ensure-run-image.ts";
import { agentStateDir, prepareAgentState } from "./prepare-agent-state.ts";
import { prepareRunWorkspace } from "./prepare-run-workspace.ts";
import { createSegmentSandbox, type OpenedSegment } from "./run-agent-sealed.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

export interface OpenedFirstSegment {
  checkout: RunCheckout;
  /** What a resumed segment's agent state held (prepareAgentState). */
  restored: { files: number; bytes: number } | undefined;
  /** Its `created` is undefined when the run was cancelled (or lost its lease) before the container was made. */
  opened: OpenedSegment;
}

/**
 * Phase 1 and what does not wait for it (issue 15, "overlap"). What needs what:
 *
 *   checkout:   clone ──► workspace folder ──► files, throwaway .git ──► task file ──► `workspace.prepared`
 *   image:      check or build (reads the run's grants: pre-approved ones are recorded first)
 *   container:  image + workspace folder + run folder (0700, made by the checkout) ──►
 *               agent-state folder ──► socket folder, run token ──► create (not start)
 *
 * The three run beside each other. The container needs the folders it mounts to exist,
 * not their files: the engine binds them at start, and runAgentSealed starts it only after
 * the checkout ended. Kept in order, whatever finishes first:
 * - the ledger: the image's entries are appended after `workspace.prepared` (none when the
 *   checkout failed: the image was never used), so the chain reads as the run depends; the
 *   container's create does not wait for them, the container's start does;
 * - the stored phases: `prepare` then `image`, each its own duration (they overlap);
 * - fencing: no container is created once the run's signal aborted (a lost lease, a stop);
 *   one created before is removed by runSandboxed, which starts nothing when aborted.
 * When a branch fails, every branch is awaited, a created container is removed, and one
 * error is thrown: the checkout's, else the image's, else the container's (the others are
 * logged). The caller records it once and removes the run folder.
 */
export async function openFirstSegment(ctx: RunPhaseContext, segment: number): Promise<OpenedFirstSegment> {
  let madeWorkspace: (dir: string | undefined) => void = () => undefined;
  const workspaceMade = new Promise<string | undefined>((resolve) => (madeWorkspace = resolve));
  let checkoutEnded: (ok: boolean) => void = () => undefined;
  const checkoutDone = new Promise<boolean>((resolve) => (checkoutEnded = resolve));

  const preparing = ctx.time("prepare", () => prepareRunWorkspace(ctx, madeWorkspace));
  preparing.then(
    (checkout) => {
      // Already heard from the hook, unless a checkout that made its folder otherwise never called it.
      madeWorkspace(checkout.workspace);
      checkoutEnded(true);
    },
    () => {
      madeWorkspace(undefined);
      checkoutEnded(false);
    },
  );

  let imageMs = 0;
  // The image's ledger entries are queued behind the checkout's, not awaited by the image:
  // the container's create needs the image, not its entry. All are chained (or the run
  // fails) before this returns, so before the container can start.
  const imageEntries: Promise<unknown>[] = [];
  const imageCtx: RunPhaseContext = {
    ...ctx,
    audit: (type, data) => {
      const entry = checkoutDone.then((ok) => (ok ? ctx.audit(type, data) : undefined));
      void entry.catch(() => undefined);
      imageEntries.push(entry);
      return Promise.resolve();
    },
  };
  const imaging = (async () => {
    const started = performance.now();
    const image = await ensureRunImage(imageCtx, segment);
    imageMs = performance.now() - started;
    return image;
  })();

  const creating = (async () => {
    const workspace = await workspaceMade;
    const image = await imaging;
    if (workspace === undefined) return undefined;
    const restored = await prepareAgentState(ctx, segment);
    if (ctx.deps.signal?.aborted) return { restored, created: undefined };
    const created = await createSegmentSandbox(ctx, workspace, image, {
      number: segment,
      stateDir: agentStateDir(ctx),
    });
    return { restored, created };
  })();

  const [checkout, image, container] = await Promise.allSettled([preparing, imaging, creating]);
  const entries = await Promise.allSettled(imageEntries);
  if (
    checkout.status === "fulfilled" &&
    image.status === "fulfilled" &&
    container.status === "fulfilled" &&
    entries.every((e) => e.status === "fulfilled")
  ) {
    await ctx.recordPhase("image", imageMs);
    return {
      checkout: checkout.value,
      restored: container.value?.restored,
      opened: { image: image.value, created: container.value?.created },
    };
  }
  const created = container.status === "fulfilled" ? container.value?.created : undefined;
  if (created !== undefined) {
    await removeSandbox(
      ctx.deps.runtime,
      created.containerId,
      ctx.log.child({ containerId: created.containerId }),
    );
  }
  const failures = [checkout, image, container, ...entries].flatMap((r) =>
    r.status === "rejected" ? [r.reason] : [],
  );
  const [first, ...others] = failures as Error[];
  for (const other of others) {
    if (other !== first) ctx.log.warn({ err: other.message }, "a step beside the failed one failed too");
  }
  throw first;
}
