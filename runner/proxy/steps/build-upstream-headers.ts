import type { IncomingMessage } from "node:http";
import type { ResolvedUpstream } from "../choose-upstreams.ts";

/** Client headers never forwarded: hop-by-hop, credentials (replaced by the real key), and encodings we must read. */
const droppedRequestHeaders = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "authorization",
  "x-api-key",
  "content-length",
  "accept-encoding",
  "cookie",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

/** The headers sent upstream: the client's, minus the dropped ones, plus the operator's key. */
export function buildUpstreamHeaders(
  req: IncomingMessage,
  upstream: ResolvedUpstream,
  hasBody: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || droppedRequestHeaders.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  if (hasBody) headers["content-type"] = "application/json";
  headers["accept-encoding"] = "identity";
  if (upstream.format === "anthropic") {
    headers["anthropic-version"] ??= "2023-06-01";
    if (upstream.apiKey) headers["x-api-key"] = upstream.apiKey;
  } else if (upstream.apiKey) {
    headers.authorization = `Bearer ${upstream.apiKey}`;
  }
  return headers;
}
