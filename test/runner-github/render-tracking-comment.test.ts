// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderTrackingComment } from "../../core/summary/render-tracking-comment.ts";

const run = {
  id: "rabc123",
  agent: "builtin",
  model: "gpt-4.1-mini",
  attempt: 2,
  createdAt: new Date("2026-01-01T00:00:00Z"),
  finishedAt: new Date("2026-01-01T00:01:05Z"),
};
const progress = {
  state: "running" as const,
  calls: 3,
  inputTokens: 12_345,
  outputTokens: 678,
  costUsd: "0.0123456",
};

describe("the tracking comment", () => {
  it("shows state, elapsed time, calls, tokens and cost, and says how to stop the run", () => {
    const body = renderTrackingComment(run, progress);
    assert.match(body, /^<!-- airlock:tracking:rabc123 -->\n/);
    assert.match(body, /· attempt 2/);
    assert.match(body, /\| running \| 1m 05s \| 3 \| 12,345 \/ 678 \| \$0\.0123 \|/);
    assert.match(body, /`\/airlock stop`/);
    assert.doesNotMatch(body, /WARNING/);
  });

  it("warns past the soft budget threshold, and points at the result once the run has ended", () => {
    const warned = renderTrackingComment(run, progress, { softBudgetWarning: true });
    assert.match(warned, /> \[!WARNING\]\n> This run has used more than 80% of its budget\./);
    const ended = renderTrackingComment(run, progress, {
      ended: { outcome: "budget_exhausted", link: "https://example.test/pr/7" },
    });
    assert.match(ended, /\| budget_exhausted \|/);
    assert.match(ended, /Result: https:\/\/example\.test\/pr\/7/);
    assert.doesNotMatch(ended, /airlock stop/);
  });

  it("says a parked run waits for a decision in its pull request, and how to give one", () => {
    const parked = renderTrackingComment(run, progress, {
      awaiting: { prNumber: 12, link: "https://example.test/pr/12", pending: 2 },
    });
    assert.match(parked, /\| awaiting_approval \|/);
    assert.match(parked, /Waiting for a decision in pull request #12 \(https:\/\/example\.test\/pr\/12\)/);
    assert.match(parked, /asked for 2 capabilities\. Approve the review to grant them all/);
    assert.match(parked, /`\/approve` or `\/deny <why>`/);
  });
});
