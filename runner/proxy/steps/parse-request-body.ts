import { refuse, type StepResult } from "../proxy-refusal.ts";

/** A request body the proxy can route and meter: a JSON object naming a model. */
export interface ParsedRequest {
  json: Record<string, unknown>;
  model: string;
  stream: boolean;
}

/**
 * Step 4a. Parse the body. `text` is the body as stored for the audit; when it was not
 * clipped it is the whole body, and decoding it twice is avoided.
 */
export function parseRequestBody(body: Buffer, text: string): StepResult<{ request: ParsedRequest }> {
  let json: unknown;
  try {
    json = JSON.parse(text.length === body.length ? text : body.toString("utf8"));
  } catch (error) {
    return refuse(
      400,
      "invalid_request",
      "bad_json",
      `request body is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return refuse(400, "invalid_request", "bad_json", "request body must be a JSON object");
  }
  const parsed = json as Record<string, unknown>;
  if (typeof parsed.model !== "string" || parsed.model === "") {
    return refuse(400, "invalid_request", "bad_request", "model: a model id (string) is required");
  }
  return { ok: true, request: { json: parsed, model: parsed.model, stream: parsed.stream === true } };
}
