/** The states a run ends in; once in one, a run never changes state again. */
const endStates = [
  "succeeded",
  "failed",
  "timed_out",
  "budget_exhausted",
  "disk_limit",
  "cancelled",
] as const;

/** A run's life: the states it passes through, then the ones it ends in. */
export const runStates = [
  "queued",
  "preparing",
  "running",
  "waiting_capability",
  "publishing",
  ...endStates,
] as const;
export type RunState = (typeof runStates)[number];

export const terminalRunStates: readonly RunState[] = endStates;

export function isTerminalRunState(state: RunState): boolean {
  return terminalRunStates.includes(state);
}
