/**
 * Where a run's time goes (issue 15), in the order a segment passes through them: waiting
 * for a runner, the clone, the image check or build, the container's start, the agent,
 * the relay's commit, the push, the pull request on GitHub. A run that pauses for
 * capability decisions passes through them again per segment; the wait for the decision
 * itself is not a phase (a human's time, recorded as `run.waited`).
 */
export const runPhases = [
  "queued",
  "prepare",
  "image",
  "container_start",
  "agent",
  "relay",
  "push",
  "publish",
] as const;
export type RunPhase = (typeof runPhases)[number];
