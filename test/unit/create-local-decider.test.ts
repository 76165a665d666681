import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { createLocalDecider, terminalApprover } from "../../cli/create-local-decider.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";

function request(
  id: number,
  kind: CapabilityRequest["kind"],
  name: string,
  reason: string,
): CapabilityRequest {
  return {
    id,
    runId: "r1",
    kind,
    name,
    version: null,
    reason,
    state: "pending",
    decidedBy: null,
    decidedAt: null,
    decisionReason: null,
    reviewId: null,
    reviewCommentId: null,
    segment: 0,
    createdAt: new Date(),
  };
}

describe("airlock run's decisions on capability requests (issue 10 §8)", () => {
  const pending = [
    request(1, "apt", "jq", "to read JSON"),
    request(2, "network", "example.org", "docs\u001b[2J"),
  ];

  it("--deny-requests denies every request and says so", async () => {
    const decide = createLocalDecider({ denyAll: true, input: new PassThrough(), output: new PassThrough() });
    const decisions = await decide(pending);
    assert.deepEqual(
      decisions.map((d) => [d.id, d.state, d.by, d.reason]),
      [
        [1, "denied", "operator (--deny-requests)", "airlock run was started with --deny-requests"],
        [2, "denied", "operator (--deny-requests)", "airlock run was started with --deny-requests"],
      ],
    );
  });

  it("without a terminal, denies and tells the agent how the operator could pre-approve", async () => {
    const decide = createLocalDecider({
      denyAll: false,
      input: new PassThrough(),
      output: new PassThrough(),
    });
    const [first] = await decide(pending);
    assert.equal(first?.state, "denied");
    assert.match(first?.reason ?? "", /not on a terminal\); pre-approve it with --grant apt:jq/);
  });

  it("on a terminal, asks each request with the agent's reason (control characters removed): y grants, n <why> denies", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const output = new PassThrough();
    let shown = "";
    output.on("data", (chunk: Buffer) => {
      shown += chunk.toString();
      if (shown.includes("Grant it?") && !shown.includes("[answered1]")) {
        shown += "[answered1]";
        input.write("y\n");
      } else if (shown.split("Grant it?").length === 3 && !shown.includes("[answered2]")) {
        shown += "[answered2]";
        input.write("n not needed offline\n");
      }
    });
    const decide = createLocalDecider({ denyAll: false, input, output });
    const decisions = await decide(pending);
    assert.deepEqual(
      decisions.map((d) => [d.id, d.state, d.by, d.reason]),
      [
        [1, "granted", terminalApprover, undefined],
        [2, "denied", terminalApprover, "not needed offline"],
      ],
    );
    assert.match(shown, /The agent asks for apt:jq\n {2}why: to read JSON/);
    assert.match(shown, /why: docs\[2J\n/);
  });
});
