import { verifyRunToken, type VerifyRunTokenResult } from "./run-token.ts";

export type RunTokenVerifier = (token: string, nowS: number) => VerifyRunTokenResult;

/**
 * verifyRunToken with the tokens whose signature already checked out remembered, so an
 * agent's thousandth call with its one token costs a map lookup, not an HMAC. Only a
 * token that verified is kept (keyed by the whole token, signature included), and its
 * expiry is still checked on every call. Bounded: when full it starts over.
 */
export function createRunTokenVerifier(secret: string, limit = 1024): RunTokenVerifier {
  const verified = new Map<string, { runId: string; attempt: number; expiresAt: number }>();
  return (token, nowS) => {
    const known = verified.get(token);
    if (known) {
      return known.expiresAt > nowS ? { ok: true, ...known } : { ok: false, reason: "expired" };
    }
    const result = verifyRunToken(token, secret, nowS);
    if (result.ok) {
      if (verified.size >= limit) verified.clear();
      verified.set(token, { runId: result.runId, attempt: result.attempt, expiresAt: result.expiresAt });
    }
    return result;
  };
}
