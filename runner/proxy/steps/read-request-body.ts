import type { IncomingMessage } from "node:http";
import type { CallRecord } from "../call-record.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type ProxyRefusal } from "../proxy-refusal.ts";
import type { AdmissionTicket } from "../run-admission.ts";
import { refuseAdmission } from "./admit-request.ts";

export type BodyReadResult =
  | { kind: "body"; body: Buffer }
  | { kind: "refused"; refusal: ProxyRefusal }
  /** The client went away mid-upload; the call's status and error say so. */
  | { kind: "client_aborted" };

type RawRead =
  | { kind: "body"; body: Buffer }
  | { kind: "too_large" }
  | { kind: "timeout"; idle: boolean }
  | { kind: "aborted"; message: string };

function readBody(ctx: ProxyContext, req: IncomingMessage, ticket: AdmissionTicket): Promise<RawRead> {
  const { bodyMs, bodyIdleMs } = ctx.timeouts;
  if (req.destroyed) return Promise.resolve({ kind: "aborted", message: "the connection closed" });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: RawRead) => {
      if (done) return;
      done = true;
      clearTimeout(idleTimer);
      clearTimeout(deadline);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      // What was read is dropped here, so a refused upload frees its memory at once.
      chunks.length = 0;
      if (result.kind !== "body") req.pause();
      resolve(result);
    };
    const armIdle = () => setTimeout(() => finish({ kind: "timeout", idle: true }), bodyIdleMs);
    let idleTimer = armIdle();
    const deadline = setTimeout(() => finish({ kind: "timeout", idle: false }), bodyMs);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      // Only a chunked body can outgrow its claim (node:http holds a declared one to its length).
      if (size > ticket.bytes) return finish({ kind: "too_large" });
      chunks.push(chunk);
      clearTimeout(idleTimer);
      idleTimer = armIdle();
    };
    const onEnd = () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      finish({ kind: "body", body });
    };
    const onError = (error: Error) => finish({ kind: "aborted", message: error.message });
    const onClose = () => finish({ kind: "aborted", message: "the connection closed" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Step 3b. The request body, read whole but never past the run's admitted bytes, the
 * single-body limit, or the body timeouts: a stalled upload is answered 408 and its
 * connection ended (issue 9 §4).
 */
export async function readRequestBody(
  ctx: ProxyContext,
  req: IncomingMessage,
  call: CallRecord,
  ticket: AdmissionTicket,
): Promise<BodyReadResult> {
  const read = await readBody(ctx, req, ticket);
  if (read.kind === "body") {
    ctx.admission.settleBody(ticket, read.body.length);
    return read;
  }
  if (read.kind === "too_large") {
    return {
      kind: "refused",
      refusal: refuseAdmission(ctx, call.account, "body_too_large", undefined).refusal,
    };
  }
  if (read.kind === "timeout") {
    const why = read.idle
      ? `no bytes of the request body arrived for ${ctx.timeouts.bodyIdleMs} ms`
      : `the request body did not arrive within ${ctx.timeouts.bodyMs} ms`;
    const refused = refuse(
      408,
      "timeout",
      "body_timeout",
      `${why}; the proxy ended the upload, send the request again`,
      {
        connection: "close",
      },
    );
    return { kind: "refused", refusal: refused.refusal };
  }
  call.clientAborted = true;
  call.status = 499;
  call.error = `client aborted while sending the request body: ${read.message}`;
  return { kind: "client_aborted" };
}
