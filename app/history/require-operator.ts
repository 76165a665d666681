import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { deriveOperatorSession, operatorSessionCookie } from "./derive-operator-session.ts";
import { isOperatorToken } from "./is-operator-token.ts";
import { renderSignIn } from "./render-sign-in.ts";

/**
 * Operators only (issue 13 §2): every run of every repository is on these pages, so a
 * request passes with `Authorization: Bearer <AIRLOCK_HISTORY_TOKEN>` (scripts, curl) or the
 * session cookie the sign-in form sets (browsers). Anything else gets 401 and the sign-in
 * form, which says what to present; nothing about a run is shown.
 */
export function requireOperator(token: string): MiddlewareHandler {
  const session = deriveOperatorSession(token);
  return async (c, next) => {
    const header = c.req.header("authorization");
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
    const passed =
      isOperatorToken(bearer, token) || isOperatorToken(getCookie(c, operatorSessionCookie), session);
    if (!passed) {
      c.header("WWW-Authenticate", 'Bearer realm="airlock run history"');
      const problem =
        header !== undefined
          ? "The Authorization header did not carry the operators' token."
          : "Operators only: sign in with the token set in AIRLOCK_HISTORY_TOKEN.";
      return c.html(renderSignIn({ problem, next: c.req.path }), 401);
    }
    await next();
  };
}
