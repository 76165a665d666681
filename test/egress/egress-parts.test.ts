// @unit
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createBlockedAttempts } from "../../runner/egress/blocked-attempts.ts";
import { isGrantedDomain } from "../../runner/egress/is-granted-domain.ts";
import { pickEgressAddress } from "../../runner/egress/pick-egress-address.ts";
import { resolveHost } from "../../runner/egress/resolve-host.ts";

describe("the egress proxy's parts", () => {
  it("collects refusals per (domain, port, reason) with counts, and bounds how many distinct ones it keeps", () => {
    const blocked = createBlockedAttempts();
    const t0 = new Date("2026-01-01T00:00:00Z");
    const t1 = new Date("2026-01-01T00:01:00Z");
    assert.equal(blocked.add({ domain: "a.test", port: 443, reason: "not granted" }, t0), true);
    assert.equal(blocked.add({ domain: "a.test", port: 443, reason: "not granted" }, t1), false);
    assert.equal(blocked.add({ domain: "a.test", port: 80, reason: "not granted" }, t1), true);
    assert.deepEqual(blocked.list(), [
      { domain: "a.test", port: 443, reason: "not granted", attempts: 2, firstAt: t0, lastAt: t1 },
      { domain: "a.test", port: 80, reason: "not granted", attempts: 1, firstAt: t1, lastAt: t1 },
    ]);
    for (let i = 0; i < 2_000; i++) blocked.add({ domain: `n${i}.test`, port: 443, reason: "not granted" });
    const list = blocked.list();
    assert.equal(list.length, 1_001);
    assert.deepEqual([list.at(-1)?.domain, list.at(-1)?.attempts], ["(more)", 1_002]);
  });

  it("matches grants exactly, ignoring case and a trailing dot, never a subdomain or a parent", () => {
    const grants = new Set(["Example.COM.", "registry.example.org"]);
    assert.equal(isGrantedDomain("example.com", grants), true);
    assert.equal(isGrantedDomain("registry.example.org", grants), true);
    assert.equal(isGrantedDomain("api.example.com", grants), false);
    assert.equal(isGrantedDomain("example.org", grants), false);
    assert.equal(isGrantedDomain("evilexample.com", grants), false);
  });

  it("refuses a name whose resolution hangs, after the timeout, as unresolved", async () => {
    const picked = await pickEgressAddress("slow.test", () => new Promise<string[]>(() => {}), {
      timeoutMs: 50,
    });
    assert.deepEqual(picked, {
      ok: false,
      status: 502,
      reason: "slow.test could not be resolved on the runner's host",
    });
  });

  it("resolves on the host with the system resolver (localhost from the hosts file)", async () => {
    const addresses = await resolveHost("localhost");
    assert.ok(addresses.length > 0);
    assert.ok(
      addresses.every((a) => a === "127.0.0.1" || a === "::1"),
      addresses.join(", "),
    );
  });
});
