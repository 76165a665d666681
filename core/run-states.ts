/** The states a run ends in; once in one, a run never changes state again. */
const endStates = [
  "succeeded",
  "failed",
  "timed_out",
  "budget_exhausted",
  "disk_limit",
  "cancelled",
  /** Capability requests stayed pending past the repository's approval_timeout (issue 10 §2). */
  "capability_timeout",
] as const;

/** A run's life: the states it passes through, then the ones it ends in. */
export const runStates = [
  "queued",
  "preparing",
  "running",
  /**
   * Parked (issue 10 §2): the agent stopped with capability requests pending; its work is
   * on the run's branch, its private state in run_agent_states; no runner holds it and
   * nothing runs until a maintainer decides (or approval_deadline passes).
   */
  "awaiting_approval",
  /**
   * Decided, and the repository builds its images on GitHub Actions (issue 11): the
   * workflow was dispatched; no runner claims the run until `workflow_run.completed`
   * brings the image back (or says it failed) and the app queues it again.
   */
  "awaiting_image",
  "publishing",
  ...endStates,
] as const;
export type RunState = (typeof runStates)[number];

export const terminalRunStates: readonly RunState[] = endStates;

export function isTerminalRunState(state: RunState): boolean {
  return terminalRunStates.includes(state);
}
