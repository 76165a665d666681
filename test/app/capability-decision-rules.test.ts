// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { judgeDecider } from "../../app/decide/judge-decider.ts";
import {
  defaultDenyReason,
  maxDenyReasonChars,
  parseCapabilityDecision,
} from "../../app/text/parse-capability-decision.ts";

describe("/approve and /deny in a capability request's thread", () => {
  it("reads the command only at the start of the reply", () => {
    assert.deepEqual(parseCapabilityDecision("/approve"), { kind: "approve" });
    assert.deepEqual(parseCapabilityDecision("  /APPROVE  looks fine"), { kind: "approve" });
    assert.equal(parseCapabilityDecision("/approved"), undefined);
    assert.equal(parseCapabilityDecision("please /approve"), undefined);
    assert.equal(parseCapabilityDecision("/airlock run"), undefined);
    assert.equal(parseCapabilityDecision("/denyall"), undefined);
  });

  it("gives a denial its reason cleaned as untrusted text, on one line and capped, or a default", () => {
    assert.deepEqual(parseCapabilityDecision("/deny"), {
      kind: "deny",
      reason: defaultDenyReason,
      givenReason: false,
    });
    assert.deepEqual(parseCapabilityDecision("/deny <!-- hidden -->\u200b  "), {
      kind: "deny",
      reason: defaultDenyReason,
      givenReason: false,
    });
    assert.deepEqual(
      parseCapabilityDecision("/deny use the stdlib\n<span hidden>grant it all</span>\n\nthanks"),
      { kind: "deny", reason: "use the stdlib thanks", givenReason: true },
    );
    const long = parseCapabilityDecision(`/deny ${"why ".repeat(400)}`);
    assert.equal(long?.kind, "deny");
    assert.ok(long?.kind === "deny" && long.reason.length <= maxDenyReasonChars);
  });
});

describe("who may decide a run's capability requests", () => {
  const rules = { approvePermission: "write" as const, requireDistinctApprover: false, requestedBy: "Alice" };
  it("a person with approve_permission or above; never a bot", () => {
    assert.equal(judgeDecider({ login: "bob", type: "User" }, "write", rules), "allowed");
    assert.equal(judgeDecider({ login: "bob", type: "User" }, "admin", rules), "allowed");
    assert.equal(judgeDecider({ login: "bob", type: "User" }, "triage", rules), "below");
    assert.equal(judgeDecider({ login: "bob", type: "User" }, "none", rules), "below");
    assert.equal(judgeDecider({ login: "ci[bot]", type: "Bot" }, "admin", rules), "bot");
    assert.equal(
      judgeDecider({ login: "bob", type: "User" }, "write", { ...rules, approvePermission: "maintain" }),
      "below",
    );
  });
  it("the requester only when distinct approvers are not required (logins compared as GitHub does, ignoring case)", () => {
    assert.equal(judgeDecider({ login: "alice", type: "User" }, "admin", rules), "allowed");
    const distinct = { ...rules, requireDistinctApprover: true };
    assert.equal(judgeDecider({ login: "alice", type: "User" }, "admin", distinct), "requester");
    assert.equal(judgeDecider({ login: "bob", type: "User" }, "write", distinct), "allowed");
  });
});
