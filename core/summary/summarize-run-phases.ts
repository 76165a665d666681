import { checkRunEventData } from "../db/run-event-schemas.ts";
import type { RunEvent } from "../db/schema.ts";
import { runPhases, type RunPhase } from "../run-phases.ts";

/** One segment's phases, in core/run-phases.ts order, and the wait for decisions before it. */
export interface SegmentPhases {
  segment: number;
  phases: { phase: RunPhase; ms: number }[];
  /** How long the run waited for capability decisions before this segment (resumed segments). */
  waitedMs?: number | undefined;
}

/**
 * A run's `run.phase` and `run.waited` events (issue 15) grouped by segment, oldest first.
 * Each is parsed where it is read; a phase stored twice in a segment (a publish retried
 * after a runner died) is summed.
 */
export function summarizeRunPhases(events: readonly RunEvent[]): SegmentPhases[] {
  const segments = new Map<number, SegmentPhases>();
  const segmentOf = (n: number): SegmentPhases => {
    let found = segments.get(n);
    if (found === undefined) {
      found = { segment: n, phases: [] };
      segments.set(n, found);
    }
    return found;
  };
  for (const event of events) {
    if (event.type === "run.phase") {
      const data = checkRunEventData("run.phase", event.data);
      const phases = segmentOf(data.segment).phases;
      const same = phases.find((p) => p.phase === data.phase);
      if (same) same.ms += data.ms;
      else phases.push({ phase: data.phase, ms: data.ms });
    } else if (event.type === "run.waited") {
      const data = checkRunEventData("run.waited", event.data);
      const segment = segmentOf(data.segment);
      segment.waitedMs = (segment.waitedMs ?? 0) + data.ms;
    }
  }
  for (const segment of segments.values()) {
    segment.phases.sort((a, b) => runPhases.indexOf(a.phase) - runPhases.indexOf(b.phase));
  }
  return [...segments.values()].sort((a, b) => a.segment - b.segment);
}
