import type { IncomingMessage } from "node:http";
import type { MeterKind } from "./meter-usage.ts";
import type { WireFormat } from "./send-provider-error.ts";

/** What the proxy knows about one endpoint it serves. */
export interface ProxyRoute {
  format: WireFormat;
  meter: MeterKind | undefined;
  billable: boolean;
  hasBody: boolean;
}

const routes: Record<string, ProxyRoute> = {
  "POST /v1/chat/completions": { format: "openai", meter: "openai-chat", billable: true, hasBody: true },
  "POST /v1/responses": { format: "openai", meter: "openai-responses", billable: true, hasBody: true },
  "GET /v1/models": { format: "openai", meter: undefined, billable: false, hasBody: false },
  "POST /v1/messages": { format: "anthropic", meter: "anthropic-messages", billable: true, hasBody: true },
  "POST /v1/messages/count_tokens": { format: "anthropic", meter: undefined, billable: false, hasBody: true },
};

export const servedRoutesText =
  "POST /v1/chat/completions, POST /v1/responses, GET /v1/models, POST /v1/messages and POST /v1/messages/count_tokens";

export function findProxyRoute(method: string, path: string): ProxyRoute | undefined {
  return routes[`${method} ${path}`];
}

/** The error shape for a request that matched no route: the SDK that sent it is guessed from its path and headers. */
export function guessWireFormat(req: IncomingMessage, path: string): WireFormat {
  return path.startsWith("/v1/messages") || req.headers["anthropic-version"] !== undefined
    ? "anthropic"
    : "openai";
}
