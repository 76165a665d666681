import type { IncomingMessage, ServerResponse } from "node:http";
import type { ProxyContext } from "../proxy-context.ts";
import type { ProxyRefusal } from "../proxy-refusal.ts";
import { sendProviderError, type WireFormat } from "../send-provider-error.ts";

/** Answer a refusal in the provider's error shape and count it; what is left of the request body is discarded. */
export function sendRefusal(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  format: WireFormat,
  refusal: ProxyRefusal,
): void {
  ctx.metrics.refusals.inc({ reason: refusal.reason });
  req.resume();
  sendProviderError(res, format, refusal.status, refusal.kind, refusal.message, refusal.headers);
}
