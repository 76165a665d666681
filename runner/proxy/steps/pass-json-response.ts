import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { CallRecord } from "../call-record.ts";
import { clipText } from "../clip-text.ts";
import { readJsonUsage } from "../meter-usage.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { redactUpstreamText } from "../redact-upstream-text.ts";
import { sendProviderError } from "../send-provider-error.ts";

/** Step 8a. A whole (non-stream) answer: read it, meter its usage, send it on. */
export async function passJsonResponse(
  ctx: ProxyContext,
  res: ServerResponse,
  call: CallRecord,
  response: Dispatcher.ResponseData,
  headers: Record<string, string>,
): Promise<void> {
  const route = call.route;
  let text: string;
  try {
    text = await response.body.text();
  } catch (error) {
    call.error = `upstream body failed: ${(error as Error).message}`;
    if (!call.clientAborted)
      sendProviderError(res, route.format, 502, "upstream", "upstream response broke off");
    return;
  }
  if (response.statusCode >= 400) {
    text = redactUpstreamText(text, ctx.realKeys);
    call.error = clipText(text, 2000);
  }
  call.responseBody = clipText(text, ctx.auditLimit);
  if (route.meter && response.statusCode < 300) {
    try {
      const usage = readJsonUsage(route.meter, JSON.parse(text));
      if (usage) {
        call.usage = usage;
        call.usageFinal = true;
      }
    } catch {
      call.error = "upstream returned a body that is not JSON";
    }
  }
  const out = Buffer.from(text);
  headers["content-length"] = String(out.length);
  res.writeHead(response.statusCode, headers);
  res.end(out);
}
