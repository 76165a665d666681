import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRunAdmission } from "../../runner/proxy/run-admission.ts";

describe("run admission (request slots and body bytes per run)", () => {
  const limits = { maxConcurrentPerRun: 3, maxBodyBytesPerRun: 100, maxBodyBytes: 80 };

  it("claims declared bytes before reading, and refuses past the run's allowance or the single-body limit", () => {
    const admission = createRunAdmission(limits);
    const first = admission.admit("r1", 60);
    assert.ok(first.ok);
    assert.deepEqual(admission.admit("r1", 50), { ok: false, limit: "body_allowance" });
    assert.deepEqual(admission.admit("r1", 81), { ok: false, limit: "body_too_large" });
    assert.ok(admission.admit("r2", 80).ok, "another run has its own allowance");
    assert.ok(admission.admit("r1", 40).ok, "what fits beside the first is admitted");
    assert.deepEqual(admission.inUse("r1"), { requests: 2, bodyBytes: 100 });
    admission.release(first.ticket);
    admission.release(first.ticket);
    assert.deepEqual(admission.inUse("r1"), { requests: 1, bodyBytes: 40 }, "a second release frees nothing");
    assert.equal(admission.totalBodyBytes(), 120);
  });

  it("a body of unknown length claims the largest body until it has arrived", () => {
    const admission = createRunAdmission(limits);
    const chunked = admission.admit("r1", undefined);
    assert.ok(chunked.ok);
    assert.equal(chunked.ticket.bytes, 80);
    assert.deepEqual(admission.admit("r1", 30), { ok: false, limit: "body_allowance" });
    admission.settleBody(chunked.ticket, 12);
    assert.deepEqual(admission.inUse("r1"), { requests: 1, bodyBytes: 12 });
    assert.ok(admission.admit("r1", 30).ok);
  });

  it("counts requests in flight against the per-run concurrency limit, bodies or not", () => {
    const admission = createRunAdmission(limits);
    const tickets = [admission.admit("r1", 0), admission.admit("r1", 0), admission.admit("r1", 0)];
    assert.deepEqual(admission.admit("r1", 0), { ok: false, limit: "concurrency" });
    const [first] = tickets;
    assert.ok(first?.ok);
    admission.release(first.ticket);
    assert.ok(admission.admit("r1", 0).ok);
  });
});
