import type { IncomingMessage } from "node:http";
import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";

function readToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const key = req.headers["x-api-key"];
  return typeof key === "string" && key.length > 0 ? key.trim() : undefined;
}

/** Step 1. The run token: signature, expiry, and (on a run's socket) the run it names. */
export function authenticateRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
): StepResult<{ token: string; runId: string; attempt: number }> {
  const token = readToken(req);
  if (!token) {
    return refuse(
      401,
      "authentication",
      "auth",
      "missing run token: send it as Authorization: Bearer <token> or x-api-key",
    );
  }
  const verified = ctx.verifyToken(token, Math.floor(ctx.now() / 1000));
  if (!verified.ok) {
    const why =
      verified.reason === "expired"
        ? "the run token has expired; mint a new one with airlock token"
        : "invalid run token (malformed or bad signature)";
    return refuse(401, "authentication", "auth", why);
  }
  if (ctx.deps.runId !== undefined && verified.runId !== ctx.deps.runId) {
    return refuse(
      401,
      "authentication",
      "auth",
      "this run token is not valid on this socket: it names another run",
    );
  }
  return { ok: true, token, runId: verified.runId, attempt: verified.attempt };
}
