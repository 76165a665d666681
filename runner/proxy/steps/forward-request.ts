import type { IncomingMessage } from "node:http";
import type { Dispatcher } from "undici";
import type { CallRecord } from "../call-record.ts";
import type { ResolvedUpstream } from "../choose-upstreams.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { isRetryableStatus, sendUpstream, type UpstreamOutcome } from "../send-upstream.ts";
import { buildUpstreamHeaders } from "./build-upstream-headers.ts";

export type ForwardResult =
  | { kind: "response"; response: Dispatcher.ResponseData }
  /** No upstream answered; the call's status and error say why, and the client gets that status. */
  | { kind: "failed"; status: number; message: string }
  /** The client hung up before any upstream answered; nothing is left to send. */
  | { kind: "client_aborted" };

/**
 * Step 7. Forward: retries per upstream (in sendUpstream), then the fallback chain. The
 * last upstream's answer is returned whatever its status, so the client sees the
 * provider's own error.
 */
export async function forwardRequest(
  ctx: ProxyContext,
  req: IncomingMessage,
  call: CallRecord,
  target: { chain: readonly ResolvedUpstream[]; path: string; query: string; body: Buffer | undefined },
  signal: AbortSignal,
): Promise<ForwardResult> {
  const { chain, path, query, body } = target;
  if (chain[0] !== undefined) {
    ctx.metrics.overhead.observe({ provider: chain[0].name }, (performance.now() - call.startedPerf) / 1000);
  }
  let outcome: UpstreamOutcome | undefined;
  try {
    for (let i = 0; i < chain.length; i++) {
      const upstream = chain[i]!;
      outcome = await sendUpstream(
        ctx.dispatcher,
        upstream,
        {
          method: req.method ?? "GET",
          path: (upstream.format === "openai" ? path.slice(3) : path) + query,
          headers: buildUpstreamHeaders(req.headers, upstream, call.account.grants, body !== undefined),
          body,
          signal,
          firstByteTimeoutMs: ctx.timeouts.firstByteMs,
          idleTimeoutMs: ctx.timeouts.idleMs,
        },
        ctx.retry,
        (reason) => ctx.metrics.upstreamErrors.inc({ provider: upstream.name, reason }),
      );
      call.attempts += outcome.attempts;
      call.provider = upstream.name;
      const failed =
        outcome.kind === "failed" ||
        (outcome.kind === "response" && isRetryableStatus(outcome.response.statusCode));
      if (!failed || i === chain.length - 1) break;
      if (outcome.kind === "response") await outcome.response.body.dump().catch(() => undefined);
      ctx.deps.logger.warn(
        { runId: call.account.runId, provider: upstream.name, next: chain[i + 1]!.name },
        "upstream failed; trying fallback",
      );
    }
  } catch (error) {
    // Only an aborted client lands here: nothing to answer, but the call is still recorded.
    call.clientAborted = true;
    call.status = 499;
    call.error = `client aborted before the upstream answered: ${(error as Error).message}`;
    return { kind: "client_aborted" };
  }
  if (!outcome) throw new Error("no upstream attempted");
  if (outcome.kind === "response") return { kind: "response", response: outcome.response };
  const status = outcome.timeout ? 504 : 502;
  const message = outcome.timeout
    ? `upstream ${outcome.upstream.name} did not answer in time after ${call.attempts} attempts`
    : `upstream ${outcome.upstream.name} could not be reached after ${call.attempts} attempts (${outcome.reason})`;
  call.status = status;
  call.error = message;
  return { kind: "failed", status, message };
}
