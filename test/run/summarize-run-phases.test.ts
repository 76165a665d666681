import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RunEvent } from "../../core/db/schema.ts";
import { summarizeRunPhases } from "../../core/summary/summarize-run-phases.ts";

let nextId = 1;
function event(type: string, data: Record<string, unknown>): RunEvent {
  return { id: nextId++, runId: "rphases", at: new Date(0), type, data };
}

describe("a run's phases read back from its events (issue 15)", () => {
  it("groups them by segment in phase order, sums a phase stored twice, and keeps the wait apart", () => {
    const segments = summarizeRunPhases([
      event("state.preparing", { from: "queued" }),
      event("run.phase", { phase: "prepare", segment: 0, ms: 200 }),
      event("run.phase", { phase: "queued", segment: 0, ms: 100 }),
      event("run.phase", { phase: "agent", segment: 0, ms: 900 }),
      event("run.phase", { phase: "publish", segment: 0, ms: 300 }),
      // A runner died while publishing; the next one published again.
      event("run.phase", { phase: "publish", segment: 0, ms: 400 }),
      event("run.waited", { segment: 1, ms: 60_000 }),
      event("run.phase", { phase: "queued", segment: 1, ms: 50 }),
      event("run.phase", { phase: "agent", segment: 1, ms: 700 }),
    ]);
    assert.deepEqual(segments, [
      {
        segment: 0,
        phases: [
          { phase: "queued", ms: 100 },
          { phase: "prepare", ms: 200 },
          { phase: "agent", ms: 900 },
          { phase: "publish", ms: 700 },
        ],
      },
      {
        segment: 1,
        waitedMs: 60_000,
        phases: [
          { phase: "queued", ms: 50 },
          { phase: "agent", ms: 700 },
        ],
      },
    ]);
  });

  it("refuses a stored phase that does not fit its schema (parsed, not cast)", () => {
    assert.throws(
      () => summarizeRunPhases([event("run.phase", { phase: "coffee", segment: 0, ms: 5 })]),
      /run event run\.phase: data does not fit its schema/,
    );
    assert.throws(
      () => summarizeRunPhases([event("run.phase", { phase: "agent", segment: 0, ms: -1 })]),
      /data does not fit its schema/,
    );
  });
});
