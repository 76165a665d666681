import type { IncomingMessage } from "node:http";
import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type ProxyRefusal, type StepResult } from "../proxy-refusal.ts";
import type { AdmissionLimit, AdmissionTicket } from "../run-admission.ts";
import type { RunAccount } from "../run-ledger.ts";

/** The declared body length, or undefined for a body of unknown length (chunked). */
function readDeclaredLength(req: IncomingMessage): number | undefined {
  if (req.headers["content-length"] === undefined) return undefined;
  const declared = Number(req.headers["content-length"]);
  // node:http has already refused a malformed Content-Length with 400.
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

/**
 * A refused body is never read: `connection: close` makes the server end the connection
 * after the answer instead of draining an upload the run is not allowed to send.
 */
export function refuseAdmission(
  ctx: ProxyContext,
  account: RunAccount,
  limit: AdmissionLimit,
  bodyBytes: number | undefined,
): { ok: false; refusal: ProxyRefusal } {
  const { maxConcurrentPerRun, maxBodyBytesPerRun } = ctx.admission.limits;
  const close = { connection: "close" };
  if (limit === "concurrency") {
    ctx.metrics.budgetRejections.inc({ limit: "concurrency" });
    return refuse(
      429,
      "rate_limit",
      "budget_concurrency",
      `run ${account.runId} already has ${maxConcurrentPerRun} requests in flight, the per-run concurrency limit; wait for one to finish`,
      close,
    );
  }
  if (limit === "body_too_large") {
    return refuse(
      413,
      "too_large",
      "too_large",
      `request body is larger than the proxy's limit of ${ctx.admission.maxSingleBodyBytes} bytes; send a smaller request`,
      close,
    );
  }
  const held = ctx.admission.inUse(account.runId).bodyBytes;
  const size =
    bodyBytes === undefined
      ? `a body of unknown length (chunked) claims the largest body, ${ctx.admission.maxSingleBodyBytes} bytes, while it arrives (send Content-Length to claim less)`
      : `its ${bodyBytes} bytes`;
  return refuse(
    429,
    "rate_limit",
    "body_allowance",
    `run ${account.runId}'s requests in flight hold ${held} bytes of request bodies, and this request would pass the run's allowance of ${maxBodyBytesPerRun} bytes: ${size}. Retry when they have finished`,
    close,
  );
}

/**
 * Step 3a. Before a byte of the body is read: a request slot of the run, and its
 * declared body size from the run's byte allowance (issue 9 §4). Released when the call
 * is recorded.
 */
export function admitRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
  account: RunAccount,
  hasBody: boolean,
): StepResult<{ ticket: AdmissionTicket }> {
  const declared = hasBody ? readDeclaredLength(req) : 0;
  const admitted = ctx.admission.admit(account.runId, declared);
  if (admitted.ok) return { ok: true, ticket: admitted.ticket };
  return refuseAdmission(ctx, account, admitted.limit, declared);
}
