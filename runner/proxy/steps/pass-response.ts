import { performance } from "node:perf_hooks";
import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { CallRecord } from "../call-record.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { passJsonResponse } from "./pass-json-response.ts";
import { passSseResponse } from "./pass-sse-response.ts";

const passedResponseHeader =
  /^(content-type|request-id|x-request-id|openai-|anthropic-|x-ratelimit-|retry-after)/;

/** Step 8. Pass the upstream's answer through while metering it: whole for JSON, as it arrives for SSE. */
export async function passResponse(
  ctx: ProxyContext,
  res: ServerResponse,
  call: CallRecord,
  response: Dispatcher.ResponseData,
  stream: { stripUsage: boolean; abort: AbortController },
): Promise<void> {
  call.status = response.statusCode;
  call.ttfbMs = Math.round(performance.now() - call.startedPerf);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && passedResponseHeader.test(name))
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const contentType = headers["content-type"] ?? "";
  const isStream = response.statusCode < 300 && contentType.startsWith("text/event-stream");
  if (isStream) await passSseResponse(ctx, res, call, response, headers, stream);
  else await passJsonResponse(ctx, res, call, response, headers);
}
