// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { createHmac, hkdfSync } from "node:crypto";
import { describe, it } from "node:test";
import { createRunTokenVerifier } from "../../runner/proxy/create-run-token-verifier.ts";
import { mintRunToken, verifyRunToken } from "../../runner/proxy/run-token.ts";

const secret = "unit-test-secret-0123456789abcdefghijklmnop";

describe("run tokens", () => {
  it("has the exact format <runId>.<attempt>.<expiry>.<unpadded base64url HMAC-SHA256>", () => {
    const token = mintRunToken({ runId: "r1abc", attempt: 2, expiresAt: 1_900_000_000, secret });
    // Keyed with the run-token key: the hex of HKDF-SHA256 of the secret, empty salt, its own label.
    const tokenKey = Buffer.from(
      hkdfSync("sha256", secret, Buffer.alloc(0), "airlock run-token hmac v1", 32),
    ).toString("hex");
    const expectedSig = createHmac("sha256", tokenKey).update("r1abc.2.1900000000").digest("base64url");
    assert.equal(token, `r1abc.2.1900000000.${expectedSig}`);
    assert.ok(!expectedSig.includes("="));
    assert.deepEqual(verifyRunToken(token, secret, 1_800_000_000), {
      ok: true,
      runId: "r1abc",
      attempt: 2,
      expiresAt: 1_900_000_000,
    });
  });

  it("refuses expired, forged, tampered and malformed tokens", () => {
    const token = mintRunToken({ runId: "run-1", attempt: 0, expiresAt: 1000, secret });
    assert.deepEqual(verifyRunToken(token, secret, 1000), { ok: false, reason: "expired" });
    assert.deepEqual(verifyRunToken(token, `${secret}x`, 10), { ok: false, reason: "bad_signature" });
    const sig = token.split(".")[3]!;
    assert.deepEqual(verifyRunToken(`run-2.0.1000.${sig}`, secret, 10), {
      ok: false,
      reason: "bad_signature",
    });
    assert.deepEqual(verifyRunToken(`run-1.0.99999.${sig}`, secret, 10), {
      ok: false,
      reason: "bad_signature",
    });
    const flipped = sig.slice(0, -1) + (sig.endsWith("A") ? "B" : "A");
    assert.deepEqual(verifyRunToken(`run-1.0.1000.${flipped}`, secret, 10), {
      ok: false,
      reason: "bad_signature",
    });
    for (const bad of [
      "",
      "a.b.c",
      `run.1.0.1000.${sig}`,
      `run-1.-1.1000.${sig}`,
      `${token}=`,
      `RUN.0.1000.${sig}`,
      `run-1.0.1000.${sig}.x`,
    ]) {
      assert.equal(verifyRunToken(bad, secret, 10).ok, false, bad);
    }
  });

  it("refuses a token signed with the raw secret or with the ledger key (keys derived apart)", () => {
    const payload = "r1abc.0.1900000000";
    const raw = createHmac("sha256", secret).update(payload).digest("base64url");
    assert.deepEqual(verifyRunToken(`${payload}.${raw}`, secret, 10), { ok: false, reason: "bad_signature" });
    const ledgerKey = Buffer.from(
      hkdfSync("sha256", secret, Buffer.alloc(0), "airlock audit-ledger hmac v1", 32),
    ).toString("hex");
    const byLedger = createHmac("sha256", ledgerKey).update(payload).digest("base64url");
    assert.deepEqual(verifyRunToken(`${payload}.${byLedger}`, secret, 10), {
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuses to mint for a run id with a dot or an invalid attempt", () => {
    assert.throws(() => mintRunToken({ runId: "a.b", attempt: 0, expiresAt: 1, secret }), /does not match/);
    assert.throws(() => mintRunToken({ runId: "ab", attempt: -1, expiresAt: 1, secret }), /attempt/);
  });

  it("a verifier that remembers verified tokens still checks expiry, and never remembers a bad one", () => {
    const verify = createRunTokenVerifier(secret, 2);
    const token = mintRunToken({ runId: "run-1", attempt: 3, expiresAt: 1000, secret });
    const sig = token.split(".")[3]!;
    const flipped = sig.slice(0, -1) + (sig.endsWith("A") ? "B" : "A");
    const forged = `run-1.3.1000.${flipped}`;
    assert.deepEqual(verify(forged, 10), { ok: false, reason: "bad_signature" });
    assert.deepEqual(verify(token, 10), { ok: true, runId: "run-1", attempt: 3, expiresAt: 1000 });
    // Remembered now: the same answer, and the forged one (same payload) is still refused.
    assert.deepEqual(verify(token, 999), { ok: true, runId: "run-1", attempt: 3, expiresAt: 1000 });
    assert.deepEqual(verify(forged, 10), { ok: false, reason: "bad_signature" });
    assert.deepEqual(verify(token, 1000), { ok: false, reason: "expired" });
    // Past its bound the memory starts over; tokens still verify (the hard way).
    const others = [4, 5, 6].map((n) =>
      mintRunToken({ runId: `run-${n}`, attempt: 0, expiresAt: 2000, secret }),
    );
    for (const other of others) assert.equal(verify(other, 10).ok, true);
    assert.equal(verify(token, 10).ok, true);
    // A verifier for another secret remembers nothing of this one's tokens.
    assert.deepEqual(createRunTokenVerifier(`${secret}x`)(token, 10), { ok: false, reason: "bad_signature" });
  });
});
