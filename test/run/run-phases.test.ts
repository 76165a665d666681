import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkRunEventData } from "../../core/db/run-event-schemas.ts";
import { listRunEvents } from "../../core/db/runs.ts";
import { runPhases } from "../../core/run-phases.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import { createSourceRepo } from "../helpers/git-repo.ts";
import {
  scriptedCall as call,
  startScriptedLocalRuns,
  type ScriptedLocalRuns,
} from "../helpers/start-scripted-local-runs.ts";

const tokenSecret = "test-token-secret-run-phases-0123456789abcdef";

/**
 * Issue 15: a run stores where its time went as typed `run.phase` events, per segment, and
 * the wait for capability decisions apart (`run.waited`). Driven as pause-resume-local.test.ts
 * drives a pause: real Docker, Postgres, proxy, relay; the decision taken in place.
 */
describe("a run's phase timings (paused and resumed, local)", () => {
  let h: ScriptedLocalRuns;

  before(async () => {
    h = await startScriptedLocalRuns("run-phases", tokenSecret);
  });

  after(async () => {
    await h?.close();
  });

  it("each segment's phases are stored in order with non-negative times, the wait apart, and the summary's Duration row shows them", async () => {
    h.upstream.define(
      "phases.0",
      call("request_capability", { kind: "apt", name: "jq", reason: "to pretty-print data.json" }),
    );
    h.upstream.define("phases.1", call("finish", { summary: "Waiting for jq." }));
    h.upstream.define("phases.2", call("edit_file", { path: "README.md", old: "# phases", new: "# phased" }));
    h.upstream.define("phases.3", call("finish", { summary: "Did without jq." }));
    const repo = await createSourceRepo(join(h.dir, "phases"), { "README.md": "# phases\n" });
    let decidedAfter = 0;
    const result = await recordAndRunLocalRun(h.deps(), {
      repo,
      agent: "builtin",
      prompt: "Rename the heading. [[script:phases]]",
      decideRequests: async (pending) => {
        const asked = Date.now();
        decidedAfter = Date.now() - asked;
        return pending.map((r) => ({ id: r.id, state: "denied" as const, by: "tester", reason: "not now" }));
      },
    });
    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);

    const events = await listRunEvents(h.database.db, result.runId);
    const phases = events
      .filter((e) => e.type === "run.phase")
      .map((e) => checkRunEventData("run.phase", e.data));
    // `airlock run` records its run just before it runs: no queue, and no GitHub to publish to.
    // Segment 0 ends in the pause (decided in place: nothing relayed); segment 1 relays and pushes.
    assert.deepEqual(
      phases.map((p) => `${p.segment}:${p.phase}`),
      [
        "0:prepare",
        "0:image",
        "0:container_start",
        "0:agent",
        "1:image",
        "1:container_start",
        "1:agent",
        "1:relay",
        "1:push",
      ],
    );
    for (const p of phases) assert.ok(Number.isInteger(p.ms) && p.ms >= 0, JSON.stringify(p));
    // Within a segment they were stored in core/run-phases.ts order.
    for (let i = 1; i < phases.length; i++) {
      const [a, b] = [phases[i - 1]!, phases[i]!];
      if (a.segment === b.segment) assert.ok(runPhases.indexOf(a.phase) < runPhases.indexOf(b.phase));
      else assert.ok(a.segment < b.segment);
    }
    const agentMs = phases.filter((p) => p.phase === "agent").reduce((sum, p) => sum + p.ms, 0);
    assert.ok(agentMs > 0, "the agent's two containers took some time");

    const waited = events
      .filter((e) => e.type === "run.waited")
      .map((e) => checkRunEventData("run.waited", e.data));
    assert.equal(waited.length, 1);
    assert.equal(waited[0]?.segment, 1);
    assert.ok(
      (waited[0]?.ms ?? 0) >= decidedAfter,
      `waited ${waited[0]?.ms} ms, decided after ${decidedAfter} ms`,
    );

    const duration = result.summaryMarkdown.split("\n").find((l) => l.startsWith("| Duration |"));
    assert.ok(duration, result.summaryMarkdown);
    const ms = (phase: string, segment: number) =>
      ((phases.find((p) => p.phase === phase && p.segment === segment)?.ms ?? NaN) / 1000).toFixed(1);
    assert.ok(
      duration.includes(
        `; segment 0: prepare ${ms("prepare", 0)} s, image ${ms("image", 0)} s, container start ${ms("container_start", 0)} s, agent ${ms("agent", 0)} s` +
          `; waited ${((waited[0]?.ms ?? NaN) / 1000).toFixed(1)} s for decisions` +
          `; segment 1: image ${ms("image", 1)} s, container start ${ms("container_start", 1)} s, agent ${ms("agent", 1)} s, relay ${ms("relay", 1)} s, push ${ms("push", 1)} s |`,
      ),
      duration,
    );
  });
});
