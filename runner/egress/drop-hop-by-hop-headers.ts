import type { IncomingHttpHeaders } from "node:http";

/**
 * RFC 9110 §7.6.1 hop-by-hop headers and the proxy's own: they are for this hop, never
 * forwarded. `host` is here too because it is always set again from the checked URL.
 */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** Headers minus hop-by-hop ones and any the Connection header lists. */
export function dropHopByHopHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || hopByHop.has(name) || listed.has(name)) continue;
    kept[name] = value;
  }
  return kept;
}
