import type { ProxyRoute } from "../proxy-routes.ts";
import type { ParsedRequest } from "./parse-request-body.ts";

/**
 * Step 4c. OpenAI chat streams declare usage only when asked (`stream_options.include_usage`).
 * Ask for it when the client did not, so the call can be metered; `stripUsage` tells the
 * stream meter to hide the extra usage chunk from that client again. Mutates `request.json`.
 */
export function requestStreamUsage(
  route: ProxyRoute,
  request: ParsedRequest | undefined,
): { rewritten: boolean; stripUsage: boolean } {
  if (route.meter !== "openai-chat" || !request?.stream) return { rewritten: false, stripUsage: false };
  const options = request.json.stream_options;
  const asked =
    typeof options === "object" &&
    options !== null &&
    (options as Record<string, unknown>).include_usage === true;
  if (asked) return { rewritten: false, stripUsage: false };
  request.json.stream_options = {
    ...(typeof options === "object" && options !== null ? options : {}),
    include_usage: true,
  };
  return { rewritten: true, stripUsage: true };
}
