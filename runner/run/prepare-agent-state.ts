import { chmod, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { loadRunAgentState } from "../../core/db/run-agent-states.ts";
import { chownTree } from "../relay/chown-tree.ts";
import { unpackAgentState } from "./agent-state/unpack-agent-state.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/** The agent's state folder on the host: `<runDir>/agent-state`, mounted at /airlock-state. */
export function agentStateDir(ctx: Pick<RunPhaseContext, "runDir">): string {
  return join(ctx.runDir, "agent-state");
}

/**
 * Make the agent's state folder (issue 10 §2): empty for a new run; for a resumed one
 * (segment > 0), what the agent left when the run parked, from the database, so the run
 * resumes on any runner. Owned by the sandbox user; 0700.
 */
export async function prepareAgentState(
  ctx: RunPhaseContext,
  segment: number,
): Promise<{ files: number; bytes: number } | undefined> {
  const dir = agentStateDir(ctx);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let restored: { files: number; bytes: number } | undefined;
  if (segment > 0) {
    const saved = await loadRunAgentState(ctx.deps.db, ctx.input.runId);
    if (saved === undefined) {
      ctx.log.warn({ segment }, "no saved agent state for a resumed run; the agent starts with an empty one");
    } else {
      restored = await unpackAgentState(saved.archive, dir, saved.sha256);
    }
  }
  await chmod(dir, 0o700);
  if (process.getuid?.() === 0) await chownTree(dir, 1001, 1001);
  return restored;
}
