import { performance } from "node:perf_hooks";
import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { CallRecord } from "../call-record.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { filterResponseHeaders } from "../policy/filter-response-headers.ts";
import { passJsonResponse } from "./pass-json-response.ts";
import { passSseResponse } from "./pass-sse-response.ts";

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
  // An allow-list: never the operator's organization or project (issue 9 §1).
  const headers = filterResponseHeaders(response.headers);
  const contentType = headers["content-type"] ?? "";
  const isStream = response.statusCode < 300 && contentType.startsWith("text/event-stream");
  if (isStream) await passSseResponse(ctx, res, call, response, headers, stream);
  else await passJsonResponse(ctx, res, call, response, headers);
}
