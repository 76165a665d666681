import type { Dispatcher } from "undici";
import type { ResolvedUpstream } from "./choose-upstreams.ts";

export interface RetryPolicy {
  /** Retries per upstream after the first attempt. */
  maxRetries: number;
  baseDelayMs: number;
  /** Longest wait between attempts, including a server's retry-after. */
  maxDelayMs: number;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query after the upstream's base path, e.g. `/chat/completions`. */
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  signal: AbortSignal;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
}

export type UpstreamOutcome =
  | { kind: "response"; upstream: ResolvedUpstream; response: Dispatcher.ResponseData; attempts: number }
  | { kind: "failed"; upstream: ResolvedUpstream; reason: string; attempts: number; timeout: boolean };

/** HTTP statuses worth another attempt before any byte reached the client. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

function parseRetryAfterMs(headers: Dispatcher.ResponseData["headers"], now: number): number | undefined {
  const ms = headers["retry-after-ms"];
  if (typeof ms === "string" && /^\d+(\.\d+)?$/.test(ms)) return Number(ms);
  const value = headers["retry-after"];
  if (typeof value !== "string") return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Send to one upstream with bounded retries on 429/5xx, connection failures and
 * timeouts before the response headers. The last attempt's error response is returned
 * as is, so the client still sees the provider's own error.
 */
export async function sendUpstream(
  dispatcher: Dispatcher,
  upstream: ResolvedUpstream,
  request: UpstreamRequest,
  retry: RetryPolicy,
  onFailure: (reason: string) => void,
): Promise<UpstreamOutcome> {
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const last = attempts > retry.maxRetries;
    let waitMs = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempts - 1));
    waitMs = Math.round(waitMs * (0.5 + Math.random() / 2));
    try {
      const response = await dispatcher.request({
        origin: upstream.origin,
        path: upstream.basePath + request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body ?? null,
        signal: request.signal,
        headersTimeout: request.firstByteTimeoutMs,
        bodyTimeout: request.idleTimeoutMs,
      });
      if (!isRetryableStatus(response.statusCode)) return { kind: "response", upstream, response, attempts };
      onFailure(`http_${response.statusCode}`);
      if (last) return { kind: "response", upstream, response, attempts };
      const retryAfter = parseRetryAfterMs(response.headers, Date.now());
      // A server asking for a longer pause than we are willing to hold the client gets its error passed on.
      if (retryAfter !== undefined && retryAfter > retry.maxDelayMs) {
        return { kind: "response", upstream, response, attempts };
      }
      await response.body.dump().catch(() => undefined);
      if (retryAfter !== undefined) waitMs = retryAfter;
    } catch (error) {
      if (request.signal.aborted) throw error;
      const code = (error as { code?: string }).code ?? "";
      const timeout = code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_CONNECT_TIMEOUT";
      const reason = timeout ? "timeout" : code ? code.toLowerCase() : "connection_error";
      onFailure(reason);
      if (last) return { kind: "failed", upstream, reason, attempts, timeout };
    }
    await sleep(waitMs, request.signal);
  }
}
