import { createHmac, timingSafeEqual } from "node:crypto";
import { runIdPattern } from "../../core/ids.ts";
import { deriveKey } from "../../core/keys/derive-key.ts";

/**
 * Run tokens (DESIGN §5): `<runId>.<attempt>.<expiry>.<sig>`, `expiry` in Unix seconds,
 * `sig` the unpadded base64url HMAC-SHA256 of `<runId>.<attempt>.<expiry>`. The HMAC key
 * is the "run-token" key derived from AIRLOCK_TOKEN_SECRET (deriveKey), not the secret
 * itself: the audit ledger is signed with a sibling key, so neither signs for the other.
 * The agent holds only this token, never a provider key.
 */
export interface MintRunTokenInput {
  runId: string;
  attempt: number;
  /** Unix seconds. */
  expiresAt: number;
  secret: string;
}

export type VerifyRunTokenResult =
  | { ok: true; runId: string; attempt: number; expiresAt: number }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired" };

export function mintRunToken({ runId, attempt, expiresAt, secret }: MintRunTokenInput): string {
  if (!runIdPattern.test(runId)) {
    throw new Error(`run id ${JSON.stringify(runId)} does not match ${String(runIdPattern)}`);
  }
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new Error(`attempt must be an integer ≥ 0`);
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) throw new Error(`expiresAt must be Unix seconds`);
  const payload = `${runId}.${attempt}.${expiresAt}`;
  return `${payload}.${signRunTokenPayload(payload, secret)}`;
}

const tokenPattern =
  /^([a-z0-9][a-z0-9_-]{0,63})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,14})\.([A-Za-z0-9_-]{43})$/;

export function verifyRunToken(token: string, secret: string, nowS: number): VerifyRunTokenResult {
  const match = tokenPattern.exec(token);
  if (!match) return { ok: false, reason: "malformed" };
  const [, runId, attempt, expiry, sig] = match as unknown as [string, string, string, string, string];
  const expected = Buffer.from(signRunTokenPayload(`${runId}.${attempt}.${expiry}`, secret));
  const given = Buffer.from(sig);
  // Constant-time: a byte-by-byte early exit would let a forger learn the signature prefix by timing.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad_signature" };
  }
  const expiresAt = Number(expiry);
  if (expiresAt <= nowS) return { ok: false, reason: "expired" };
  return { ok: true, runId, attempt: Number(attempt), expiresAt };
}

function signRunTokenPayload(payload: string, secret: string): string {
  return createHmac("sha256", deriveKey(secret, "run-token")).update(payload, "ascii").digest("base64url");
}
