import type { IncomingHttpHeaders } from "node:http";
import type { ResolvedUpstream } from "../choose-upstreams.ts";
import { filterAnthropicBeta } from "../policy/filter-anthropic-beta.ts";
import { isForwardedRequestHeader } from "../policy/header-allow-lists.ts";

/**
 * The headers sent upstream: the agent's headers that are on the allow-list (with
 * `anthropic-beta` filtered value by value), then what only the proxy sets — content type,
 * an identity encoding it can read, the real key, and the operator's organization and
 * project (issue 9 §1).
 */
export function buildUpstreamHeaders(
  incoming: IncomingHttpHeaders,
  upstream: Pick<ResolvedUpstream, "format" | "apiKey" | "organization" | "project">,
  grants: ReadonlySet<string>,
  hasBody: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || !isForwardedRequestHeader(name)) continue;
    const text = Array.isArray(value) ? value.join(", ") : value;
    if (name === "anthropic-beta") {
      const filtered = filterAnthropicBeta(text, grants);
      if (filtered.value !== undefined) headers[name] = filtered.value;
      continue;
    }
    headers[name] = text;
  }
  if (hasBody) headers["content-type"] = "application/json";
  headers["accept-encoding"] = "identity";
  if (upstream.format === "anthropic") {
    headers["anthropic-version"] ??= "2023-06-01";
    if (upstream.apiKey) headers["x-api-key"] = upstream.apiKey;
  } else {
    if (upstream.apiKey) headers.authorization = `Bearer ${upstream.apiKey}`;
    if (upstream.organization) headers["openai-organization"] = upstream.organization;
    if (upstream.project) headers["openai-project"] = upstream.project;
  }
  return headers;
}
