import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { createRefusalDesk, type RefusalOutcome } from "../../app/replies/create-refusal-desk.ts";

const log = pino({ level: "silent" });

function deskWithClock(options: { maxPerMinute?: number; maxQueued?: number; gapMs?: number } = {}) {
  let clock = 1_000_000;
  const waits: number[] = [];
  const outcomes: RefusalOutcome[] = [];
  const posted: string[] = [];
  const desk = createRefusalDesk({
    ...options,
    now: () => clock,
    // The clock moves by what the desk asks to wait: no real time passes.
    wait: async (ms) => {
      waits.push(ms);
      clock += ms;
    },
    onOutcome: (o) => outcomes.push(o),
  });
  const refuse = (sender: string, issueNumber = 1, installationId = 1, fail = false) =>
    desk.submit({
      installationId,
      repo: "Acme/Widgets",
      issueNumber,
      sender,
      log,
      post: async () => {
        if (fail) throw new Error("GitHub said no");
        posted.push(`${sender}#${issueNumber}`);
      },
    });
  return {
    desk,
    refuse,
    waits,
    outcomes,
    posted,
    advance: (ms: number) => (clock += ms),
  };
}

describe("the refusal desk", () => {
  it("gives a sender one refusal per issue in the window, and another after it", async () => {
    const t = deskWithClock();
    assert.equal(t.refuse("alice"), "queued");
    assert.equal(t.refuse("ALICE"), "duplicate", "logins compare without case");
    assert.equal(t.refuse("alice", 2), "queued", "another issue is another refusal");
    await t.desk.idle();
    t.advance(10 * 60_000 - 1 - t.waits.reduce((a, b) => a + b, 0));
    assert.equal(t.refuse("alice"), "duplicate", "still inside the 10 minute window");
    t.advance(1);
    assert.equal(t.refuse("alice"), "queued");
    await t.desk.idle();
    assert.deepEqual(t.posted, ["alice#1", "alice#2", "alice#1"]);
    assert.deepEqual(t.outcomes.filter((o) => o === "duplicate").length, 2);
  });

  it("drops refusals past the rate of an installation, and counts them", async () => {
    const t = deskWithClock({ maxPerMinute: 3 });
    const answers = Array.from({ length: 10 }, (_, i) => t.refuse(`stranger-${i}`));
    assert.deepEqual(answers, ["queued", "queued", "queued", ...Array<string>(7).fill("dropped")]);
    assert.equal(t.refuse("other", 1, 2), "queued", "another installation has its own rate");
    await t.desk.idle();
    assert.equal(t.posted.length, 4);
    assert.equal(t.outcomes.filter((o) => o === "dropped").length, 7);
    assert.equal(t.outcomes.filter((o) => o === "posted").length, 4);
    t.advance(60_000);
    assert.equal(t.refuse("stranger-9"), "queued", "a dropped refusal left no mark; the rate recovers");
    await t.desk.idle();
  });

  it("posts one at a time per installation, a gap apart, and survives a failed post", async () => {
    const t = deskWithClock({ gapMs: 3_500 });
    t.refuse("a", 1, 1, true);
    t.refuse("b");
    t.refuse("c");
    await t.desk.idle();
    assert.deepEqual(t.posted, ["b#1", "c#1"]);
    assert.deepEqual(t.waits, [3_500, 3_500]);
    assert.deepEqual(t.outcomes, ["failed", "posted", "posted"]);
  });
});
