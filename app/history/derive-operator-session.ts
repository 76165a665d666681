import { createHmac } from "node:crypto";

/** The cookie the sign-in form sets; scoped to the page's path. */
export const operatorSessionCookie = "airlock_history_session";

/**
 * The cookie's value: derived from the operators' token rather than the token itself, so a
 * cookie read off a browser does not reveal AIRLOCK_HISTORY_TOKEN, and changing the token
 * signs every browser out.
 */
export function deriveOperatorSession(token: string): string {
  return createHmac("sha256", token).update("airlock run-history session v1").digest("base64url");
}
