import { type KeyObject, verify } from "node:crypto";

/**
 * Checks an app JWT the way GitHub does: RS256 signed by the app's private key, `iss` the
 * app id, `iat`/`exp` numeric, not expired, and living at most ten minutes. The messages
 * are GitHub's, so code that logs them reads as it would in production.
 */
export type JwtCheck = { ok: true } | { ok: false; message: string };

const undecodable = "A JSON web token could not be decoded";

export function verifyAppJwt(jwt: string, publicKey: KeyObject, appId: number, nowSeconds: number): JwtCheck {
  const parts = jwt.split(".");
  if (parts.length !== 3) return { ok: false, message: undecodable };
  const [headerPart = "", payloadPart = "", signaturePart = ""] = parts;
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(headerPart, "base64url").toString("utf8")) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(payloadPart, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return { ok: false, message: undecodable };
  }
  // An unsigned ("none") or HMAC token must never pass: only the app's RSA key counts.
  if (header.alg !== "RS256") return { ok: false, message: undecodable };
  const signed = verify(
    "RSA-SHA256",
    Buffer.from(`${headerPart}.${payloadPart}`),
    publicKey,
    Buffer.from(signaturePart, "base64url"),
  );
  if (!signed) return { ok: false, message: undecodable };
  if (String(payload.iss) !== String(appId)) {
    return { ok: false, message: `'Issuer' claim ('iss') must be an Integer` };
  }
  const { iat, exp } = payload;
  if (typeof iat !== "number" || !Number.isInteger(iat) || iat > nowSeconds + 60) {
    return {
      ok: false,
      message: `'Issued at' claim ('iat') must be an Integer representing a time in the past`,
    };
  }
  if (typeof exp !== "number" || !Number.isInteger(exp) || exp <= nowSeconds) {
    return {
      ok: false,
      message: `'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires`,
    };
  }
  if (exp - iat > 600 || exp > nowSeconds + 600 + 60) {
    return { ok: false, message: `'Expiration time' claim ('exp') is too far in the future` };
  }
  return { ok: true };
}
