/**
 * Headers allowed through the proxy, both ways (issue 9 §1). Anything not listed is
 * dropped: a header is a channel, and a new one is not known to be safe.
 *
 * Towards the provider: what the official SDKs and the agent CLIs send to describe
 * themselves and shape the call. Never credentials (the proxy sets the real key), never
 * `openai-organization` / `openai-project` (they choose who is billed: only the operator
 * sets them, per upstream, in AIRLOCK_PROXY_CONFIG), never hop-by-hop or forwarding headers.
 */
export const forwardedRequestHeaders: ReadonlySet<string> = new Set([
  "accept",
  "user-agent",
  "anthropic-version",
  // Filtered value by value (filter-anthropic-beta.ts).
  "anthropic-beta",
  "openai-beta",
  "idempotency-key",
  "x-client-request-id",
  // Claude Code.
  "x-app",
  // Codex.
  "originator",
  "version",
  "session_id",
  "conversation_id",
]);

/** Header name prefixes forwarded: the SDKs' own description of themselves (os, runtime, retry count). */
export const forwardedRequestHeaderPrefixes: readonly string[] = ["x-stainless-"];

/**
 * Back to the agent: what the SDKs read (content type, request ids for support, retry
 * advice, rate-limit state). Never the operator's account: `openai-organization`,
 * `openai-project`, `anthropic-organization-id`, cookies.
 */
export const returnedResponseHeaders: ReadonlySet<string> = new Set([
  "content-type",
  "request-id",
  "x-request-id",
  "retry-after",
  "retry-after-ms",
  "x-should-retry",
  "openai-processing-ms",
  "openai-version",
]);

export const returnedResponseHeaderPrefixes: readonly string[] = ["x-ratelimit-", "anthropic-ratelimit-"];

export function isForwardedRequestHeader(name: string): boolean {
  return forwardedRequestHeaders.has(name) || forwardedRequestHeaderPrefixes.some((p) => name.startsWith(p));
}

export function isReturnedResponseHeader(name: string): boolean {
  return returnedResponseHeaders.has(name) || returnedResponseHeaderPrefixes.some((p) => name.startsWith(p));
}
