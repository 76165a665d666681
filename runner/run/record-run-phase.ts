import { appendRunEvent } from "../../core/db/runs.ts";
import type { Db } from "../../core/db/open-database.ts";
import type { RunPhase } from "../../core/run-phases.ts";

export interface RunPhaseRecorder {
  db: Db;
  /** The runner's `airlock_run_phase_seconds` histogram (labels phase, agent); absent for `airlock run`. */
  observeRunPhase?: ((phase: RunPhase, agent: string, seconds: number) => void) | undefined;
}

/** Store one phase's time with the run (typed `run.phase` event) and feed the runner's histogram. */
export async function recordRunPhase(
  recorder: RunPhaseRecorder,
  run: { runId: string; agent: string; segment: number },
  phase: RunPhase,
  ms: number,
): Promise<void> {
  const whole = Math.max(0, Math.round(ms));
  await appendRunEvent(recorder.db, run.runId, "run.phase", { phase, segment: run.segment, ms: whole });
  recorder.observeRunPhase?.(phase, run.agent, whole / 1000);
}
