/** A run's life. Terminal states never change again. */
export const runStates = [
  "queued",
  "preparing",
  "running",
  "waiting_capability",
  "publishing",
  "succeeded",
  "failed",
  "timed_out",
  "budget_exhausted",
  "disk_limit",
  "cancelled",
] as const;
export type RunState = (typeof runStates)[number];

export const terminalRunStates: readonly RunState[] = [
  "succeeded",
  "failed",
  "timed_out",
  "budget_exhausted",
  "disk_limit",
  "cancelled",
];

export function isTerminalRunState(state: RunState): boolean {
  return terminalRunStates.includes(state);
}
