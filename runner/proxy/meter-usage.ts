import { StringDecoder } from "node:string_decoder";
import { emptyUsage, type Usage } from "./usage.ts";

/** The three wire formats the proxy meters. */
export type MeterKind = "openai-chat" | "openai-responses" | "anthropic-messages";

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** OpenAI chat usage: prompt_tokens includes prompt_tokens_details.cached_tokens. */
function readOpenAiChatUsage(u: Record<string, unknown>): Usage {
  const usage = emptyUsage(true);
  usage.inputTokens = count(u.prompt_tokens) ?? 0;
  usage.outputTokens = count(u.completion_tokens) ?? 0;
  usage.cacheReadTokens = count(record(u.prompt_tokens_details)?.cached_tokens) ?? 0;
  return usage;
}

/** OpenAI Responses usage: input_tokens includes input_tokens_details.cached_tokens. */
function readOpenAiResponsesUsage(u: Record<string, unknown>): Usage {
  const usage = emptyUsage(true);
  usage.inputTokens = count(u.input_tokens) ?? 0;
  usage.outputTokens = count(u.output_tokens) ?? 0;
  usage.cacheReadTokens = count(record(u.input_tokens_details)?.cached_tokens) ?? 0;
  return usage;
}

/** Anthropic usage: the three input counts are disjoint; later (cumulative) values replace earlier ones. */
function mergeAnthropicUsage(into: Usage, u: Record<string, unknown>): void {
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  const creation = count(u.cache_creation_input_tokens);
  const read = count(u.cache_read_input_tokens);
  if (input !== undefined) into.inputTokens = input;
  if (output !== undefined) into.outputTokens = output;
  if (creation !== undefined) into.cacheCreationTokens = creation;
  if (read !== undefined) into.cacheReadTokens = read;
}

/** Usage from a non-streamed JSON response; undefined when it carries none. */
export function readJsonUsage(kind: MeterKind, body: unknown): Usage | undefined {
  const u = record(record(body)?.usage);
  if (!u) return undefined;
  if (kind === "openai-chat") return readOpenAiChatUsage(u);
  if (kind === "openai-responses") return readOpenAiResponsesUsage(u);
  const usage = emptyUsage(false);
  mergeAnthropicUsage(usage, u);
  return usage;
}

export interface StreamMeter {
  /** Feed upstream bytes; returns what the client should receive now (may be empty). */
  push(chunk: Buffer): Buffer | string;
  /** End of upstream; returns any held bytes. */
  end(): string;
  readonly usage: Usage;
  /** True once the stream declared any usage. */
  readonly sawUsage: boolean;
  /**
   * True once the stream declared its FINAL usage: Anthropic's last `message_delta` (it
   * carries a stop_reason) or `message_stop`; Responses' `response.completed`,
   * `response.incomplete` or `response.failed`; chat's usage chunk. Before that, what was
   * declared is a floor, not the bill (issue 9 §3: such a call is charged its reservation).
   */
  readonly finalUsage: boolean;
  /** An `error` event's text, if the stream carried one. */
  readonly error: string | undefined;
  /** The model the stream names (first seen). */
  readonly model: string | undefined;
  /** Bytes passed to the client so far. */
  readonly bytesOut: number;
}

const usageObjectPattern = /"usage"\s*:\s*\{/;

/**
 * Meter an SSE stream event by event. Bytes pass through untouched as they arrive,
 * except when the proxy itself asked OpenAI for `include_usage`: then the usage-only
 * chunk (empty `choices`) is dropped and a `usage` field on a content chunk is removed,
 * so the client sees exactly the stream it asked for.
 */
export function createStreamMeter(kind: MeterKind, stripInjectedUsage: boolean): StreamMeter {
  const decoder = new StringDecoder("utf8");
  let pending = "";
  let usage = emptyUsage(kind !== "anthropic-messages");
  let sawUsage = false;
  let finalUsage = false;
  let error: string | undefined;
  let model: string | undefined;
  let bytesOut = 0;

  function inspect(event: string): string | null {
    let name = "";
    let data = "";
    for (const line of event.split(/\r?\n/)) {
      if (line.startsWith("data:"))
        data += (data ? "\n" : "") + line.slice(line.startsWith("data: ") ? 6 : 5);
      else if (line.startsWith("event:")) name = line.slice(6).trim();
    }
    if (data === "" || data === "[DONE]") return event;
    if (kind === "anthropic-messages") {
      if (name === "message_stop") finalUsage = sawUsage;
      if (name === "message_start" || name === "message_delta" || name === "error") {
        const parsed = safeParse(data);
        if (name === "message_delta" && record(parsed?.delta)?.stop_reason != null) finalUsage = true;
        if (name === "error") error = describeError(parsed) ?? "stream error event";
        const message = record(parsed?.message);
        if (message && model === undefined && typeof message.model === "string") model = message.model;
        const u = record(name === "message_start" ? message?.usage : parsed?.usage);
        if (u) {
          mergeAnthropicUsage(usage, u);
          sawUsage = true;
        }
      }
      return event;
    }
    if (kind === "openai-responses") {
      if (name === "error" || name === "response.failed") error = describeError(safeParse(data)) ?? name;
      if (usageObjectPattern.test(data)) {
        const parsed = safeParse(data);
        // Servers that send no `event:` line name the event in the data's `type`.
        if (name === "" && typeof parsed?.type === "string") name = parsed.type;
        const response = record(parsed?.response);
        if (response && typeof response.model === "string") model ??= response.model;
        const u = record(response?.usage);
        if (u) {
          usage = readOpenAiResponsesUsage(u);
          sawUsage = true;
          if (name === "response.completed" || name === "response.incomplete" || name === "response.failed")
            finalUsage = true;
        }
      }
      return event;
    }
    // OpenAI chat completions.
    const hasUsage = usageObjectPattern.test(data);
    if (!hasUsage && !data.includes('"error"')) return event;
    const parsed = safeParse(data);
    if (!parsed) return event;
    if (parsed.error !== undefined) error = describeError(parsed) ?? "stream error chunk";
    if (typeof parsed.model === "string") model ??= parsed.model;
    const u = record(parsed.usage);
    if (!u) return event;
    usage = readOpenAiChatUsage(u);
    sawUsage = true;
    finalUsage = true;
    if (!stripInjectedUsage) return event;
    const choices = parsed.choices;
    if (!Array.isArray(choices) || choices.length === 0) return null;
    delete parsed.usage;
    return `data: ${JSON.stringify(parsed)}`;
  }

  function process(text: string, final: boolean): string {
    pending += text;
    const boundary = /\r?\n\r?\n/g;
    let out = "";
    let start = 0;
    let match: RegExpExecArray | null;
    while ((match = boundary.exec(pending)) !== null) {
      const event = pending.slice(start, match.index);
      const kept = inspect(event);
      if (kept !== null) out += kept + match[0];
      start = match.index + match[0].length;
    }
    pending = pending.slice(start);
    if (final && pending.length > 0) {
      const kept = inspect(pending);
      if (kept !== null) out += kept;
      pending = "";
    }
    return out;
  }

  return {
    push(chunk) {
      const text = decoder.write(chunk);
      if (stripInjectedUsage) {
        const out = process(text, false);
        bytesOut += Buffer.byteLength(out);
        return out;
      }
      process(text, false);
      bytesOut += chunk.length;
      return chunk;
    },
    end() {
      const out = process(decoder.end(), true);
      if (!stripInjectedUsage) return "";
      bytesOut += Buffer.byteLength(out);
      return out;
    },
    get usage() {
      return usage;
    },
    get sawUsage() {
      return sawUsage;
    },
    get finalUsage() {
      return finalUsage;
    },
    get error() {
      return error;
    },
    get model() {
      return model;
    },
    get bytesOut() {
      return bytesOut;
    },
  };
}

function safeParse(data: string): Record<string, unknown> | undefined {
  try {
    return record(JSON.parse(data));
  } catch {
    return undefined;
  }
}

function describeError(parsed: Record<string, unknown> | undefined): string | undefined {
  const err = record(parsed?.error) ?? record(record(parsed?.response)?.error);
  if (!err) return undefined;
  const type = typeof err.type === "string" ? err.type : typeof err.code === "string" ? err.code : "error";
  return typeof err.message === "string" ? `${type}: ${err.message}` : type;
}
