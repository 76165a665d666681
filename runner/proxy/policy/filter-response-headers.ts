import type { IncomingHttpHeaders } from "node:http";
import { isReturnedResponseHeader } from "./header-allow-lists.ts";

/** The upstream's response headers the agent may see (header-allow-lists.ts). */
export function filterResponseHeaders(upstream: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value !== undefined && isReturnedResponseHeader(name))
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}
