import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { CallRecord } from "../call-record.ts";
import { clipText } from "../clip-text.ts";
import { createStreamMeter } from "../meter-usage.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { waitForDrain } from "../wait-for-drain.ts";
import { passesHardCeiling } from "./passes-hard-ceiling.ts";

/**
 * Step 8b. A stream: each chunk goes to the client as it arrives, through the meter. A
 * stream whose declared usage takes the run past its hard ceiling is cut, and the cut is
 * marked on the call (`cutAtCeiling`) so the client sees a broken stream, not a clean end.
 */
export async function passSseResponse(
  ctx: ProxyContext,
  res: ServerResponse,
  call: CallRecord,
  response: Dispatcher.ResponseData,
  headers: Record<string, string>,
  stream: { stripUsage: boolean; abort: AbortController },
): Promise<void> {
  headers["cache-control"] = "no-cache";
  res.writeHead(response.statusCode, headers);
  res.flushHeaders();
  const meter = createStreamMeter(call.route.meter ?? "openai-chat", stream.stripUsage);
  const captured: Buffer[] = [];
  let capturedBytes = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (capturedBytes < ctx.auditLimit) {
        captured.push(chunk);
        capturedBytes += chunk.length;
      }
      const out = meter.push(chunk);
      if (out.length > 0 && !res.write(out)) await waitForDrain(res, stream.abort.signal);
      if (meter.sawUsage && passesHardCeiling(ctx, call, meter)) {
        call.cutAtCeiling = true;
        call.error = "stream cut: the run passed its hard budget ceiling";
        stream.abort.abort(new Error(call.error));
        break;
      }
    }
    const rest = meter.end();
    if (call.cutAtCeiling) res.destroy();
    else res.end(rest);
  } catch (error) {
    if (!call.clientAborted) {
      call.error = `upstream stream broke off: ${(error as Error).message}`;
      res.destroy();
    }
    meter.end();
  }
  call.usage = meter.usage;
  call.usageFinal = meter.finalUsage;
  if (meter.error && !call.error) call.error = meter.error;
  call.responseBody = clipText(Buffer.concat(captured).toString("utf8"), ctx.auditLimit);
}
