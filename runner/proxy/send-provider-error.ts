import type { ServerResponse } from "node:http";

/** Which provider's error shape a client expects: the one whose endpoint it called. */
export type WireFormat = "openai" | "anthropic";

export type ProxyErrorKind =
  | "authentication"
  | "permission"
  /** The request policy (issue 9): a field, tool or model the run holds no grant for. */
  | "policy"
  | "budget"
  | "rate_limit"
  | "invalid_request"
  | "too_large"
  | "timeout"
  | "not_found"
  | "unavailable"
  | "upstream";

const openAiShapes: Record<ProxyErrorKind, { type: string; code: string }> = {
  authentication: { type: "invalid_request_error", code: "invalid_api_key" },
  permission: { type: "invalid_request_error", code: "run_not_active" },
  policy: { type: "invalid_request_error", code: "airlock_policy" },
  budget: { type: "insufficient_quota", code: "budget_exceeded" },
  rate_limit: { type: "requests", code: "rate_limit_exceeded" },
  invalid_request: { type: "invalid_request_error", code: "invalid_request" },
  too_large: { type: "invalid_request_error", code: "request_too_large" },
  timeout: { type: "invalid_request_error", code: "request_timeout" },
  not_found: { type: "invalid_request_error", code: "unknown_url" },
  unavailable: { type: "server_error", code: "service_unavailable" },
  upstream: { type: "server_error", code: "upstream_error" },
};

const anthropicTypes: Record<ProxyErrorKind, string> = {
  authentication: "authentication_error",
  permission: "permission_error",
  policy: "permission_error",
  budget: "rate_limit_error",
  rate_limit: "rate_limit_error",
  invalid_request: "invalid_request_error",
  too_large: "request_too_large",
  timeout: "invalid_request_error",
  not_found: "not_found_error",
  unavailable: "api_error",
  upstream: "api_error",
};

/** The JSON body of an error, in the shape the provider's own SDK parses. */
export function formatProviderError(format: WireFormat, kind: ProxyErrorKind, message: string): string {
  if (format === "anthropic") {
    return JSON.stringify({ type: "error", error: { type: anthropicTypes[kind], message } });
  }
  const shape = openAiShapes[kind];
  return JSON.stringify({ error: { message, type: shape.type, param: null, code: shape.code } });
}

export function sendProviderError(
  res: ServerResponse,
  format: WireFormat,
  status: number,
  kind: ProxyErrorKind,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = formatProviderError(format, kind, message);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
