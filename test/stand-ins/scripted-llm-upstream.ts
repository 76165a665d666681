/**
 * A strict stand-in for the OpenAI and Anthropic HTTP APIs, on loopback, for the proxy's
 * tests and benchmark. It speaks the real wire formats (the shapes the official `openai`
 * and `@anthropic-ai/sdk` clients parse) and keeps a ledger of every usage it DECLARED,
 * so a test can compare the proxy's `llm_calls` rows with what the "provider" billed.
 *
 * How a test scripts behaviour — one mechanism, concurrency-safe:
 *   1. register a named script:        upstream.define("slow", { chunks: 40, chunkDelayMs: 20 })
 *   2. name it in the request itself:  put the marker `[[script:slow]]` anywhere in the LAST
 *      user message (chat `messages`, Anthropic `messages`, or Responses `input`).
 * A request without a marker gets `options.defaultScript`. A marker naming a script that
 * was never defined is answered 400 and listed in `unexpected`, so a typo cannot pass.
 * The marker travels through the proxy untouched, which is the point: the directive is
 * part of what the proxy forwards, not a side channel it could drop.
 *
 * Token counts are deterministic: input = `script.inputTokens`, else the characters of
 * all message text / 4 rounded up, plus 3; output = `script.outputTokens`, else the
 * number of text pieces sent (one per stream chunk) — and never more than the request's
 * own output cap (`max_tokens`, `max_completion_tokens`, `max_output_tokens`), which the
 * real providers honour. Streamed and non-streamed forms of the same request declare the
 * same usage.
 *
 * `totals` counts usage at the moment it is written to the socket (never for a response
 * whose client already went away): OpenAI chat declares usage only in its final usage
 * chunk (and only when `stream_options.include_usage` was asked for; a stream that did not
 * ask declares nothing, as the real API bills it invisibly — a proxy must always ask);
 * Responses in `response.completed`; Anthropic declares input and cache tokens in
 * `message_start` and output cumulatively (`message_start`'s `output_tokens`, then each
 * `message_delta`), so the per-call output is the LAST cumulative value ever written.
 *
 * Strictness: wrong or missing key (or any credential header that is not the real key) →
 * 401 in the provider's shape; Anthropic without
 * `anthropic-version` → 400; malformed JSON, missing model/messages/max_tokens, or
 * `stream_options` where the real API rejects it (non-stream chat, any Responses call)
 * → 400; unknown route → 404. Every such request is recorded in `unexpected`, and
 * `close()` throws while `unexpected` is not empty: a test fails on a request nobody
 * expected without having to remember to look. A test that provokes such requests on
 * purpose asserts them and acknowledges them with `takeUnexpected()`.
 *
 * Waiting without sleeps: `holdFirstByte` keeps responses of a script from starting until
 * the test releases them (a request that is certainly in flight), and `idle()` resolves
 * once no request is being answered (a cancelled stream has stopped, or a finished one
 * has declared all its usage).
 */
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Provider = "openai" | "anthropic";

/** A fault applied before the first response byte, or part-way through a stream. */
export type ScriptedFault =
  | { kind: "status"; status: 429 | 500 | 503 | 529; retryAfterSeconds?: number }
  /** The TCP connection is destroyed before any response byte. */
  | { kind: "reset" }
  /** Stream: after `afterChunks` content chunks the response ends cleanly, without final events. */
  | { kind: "end-early"; afterChunks: number }
  /** Stream: after `afterChunks` content chunks the socket is destroyed. */
  | { kind: "reset-mid-stream"; afterChunks: number }
  /** Anthropic stream: after `afterChunks` content chunks an `event: error` is sent and the stream ends. */
  | { kind: "stream-error"; afterChunks: number; errorType?: string };

export interface Script {
  /** Reply text; split on spaces into pieces, one per stream chunk. */
  text?: string;
  /** Number of text pieces (overrides splitting `text`): "w0 w1 w2 …". */
  chunks?: number;
  /** Delay before the status line and headers. */
  firstByteDelayMs?: number;
  /**
   * Before the status line and headers, wait for this promise (after `firstByteDelayMs`):
   * the test decides when the response starts, so "this request is in flight" is a fact,
   * not a guess about timing.
   */
  holdFirstByte?: Promise<unknown>;
  /** Delay between stream chunks. */
  chunkDelayMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  /** Anthropic `cache_creation_input_tokens`; OpenAI has no such field. */
  cacheCreationTokens?: number;
  /** Anthropic `cache_read_input_tokens`; OpenAI `prompt_tokens_details.cached_tokens` (a part of input). */
  cacheReadTokens?: number;
  /**
   * Reply with one tool call instead of text (chat, Anthropic, Responses `function_call`).
   * `arguments` is JSON text, streamed in pieces.
   */
  toolCall?: { name: string; arguments: string };
  /**
   * Responses only: reply with one call of a freeform `custom` tool (Codex's apply_patch),
   * whose `input` is plain text, streamed in pieces.
   */
  customToolCall?: { name: string; input: string };
  /**
   * OpenAI chat stream: where usage rides. Default: a final chunk with `choices: []`, sent only
   * when `stream_options.include_usage` is true (the real API). "last-content-chunk": on the last
   * content chunk together with finish_reason, always (some OpenAI-compatible servers).
   */
  usagePlacement?: "separate-chunk" | "last-content-chunk";
  /** Anthropic stream: how many `message_delta` events (each carries the CUMULATIVE output so far). Default 1. */
  messageDeltas?: number;
  /** Anthropic stream: `message_delta.usage` also repeats input and cache counts (as the current API does). */
  deltaUsageRepeatsInput?: boolean;
  /** Faults consumed one per request using this script, in order; once used up, requests succeed. */
  faults?: ScriptedFault[];
  /** A fault applied to every request using this script. */
  alwaysFault?: ScriptedFault;
  /**
   * Answer a non-stream call without usage (OpenAI-compatible servers that omit it): the
   * call is still billed, invisibly, so nothing is added to `totals`.
   */
  omitUsage?: boolean;
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none or it was malformed. */
  body: unknown;
  /** The body exactly as received. */
  rawBody: string;
  /** The query string, with its `?`, or "". */
  query: string;
  provider: Provider | undefined;
  script: string | undefined;
  /** Status answered (0 for a reset connection). */
  status: number;
  /** Why it was unexpected, when it was. */
  problem?: string;
}

export interface UsageTotals {
  /** Responses that declared any usage. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
}

export interface ScriptedUpstreamOptions {
  /** Key the OpenAI routes require as `Authorization: Bearer <key>`. */
  openaiApiKey?: string;
  /** Key the Anthropic routes require as `x-api-key`. */
  anthropicApiKey?: string;
  defaultScript?: Script;
  /** Keep every request in `requests` (off for benchmarks: memory). Default true. */
  recordRequests?: boolean;
  host?: string;
  port?: number;
}

export interface ScriptedUpstream {
  /** `http://127.0.0.1:<port>` — append `/v1` for the OpenAI SDK's baseURL. */
  url: string;
  requests: RecordedRequest[];
  /** Requests the real provider would have rejected, unknown routes, unknown scripts. */
  unexpected: RecordedRequest[];
  totals: Record<Provider, UsageTotals>;
  /** `/v1/messages/count_tokens` calls (never billed, so not in `totals`). */
  countTokensCalls: number;
  define(name: string, script: Script): void;
  /** Zero totals and forget recorded requests; unexpected ones stay until taken (`takeUnexpected`). */
  reset(): void;
  /** The unexpected requests so far, which the test has now seen: they no longer fail `close()`. */
  takeUnexpected(): RecordedRequest[];
  /** Resolves once no request is being answered (at once when none is). */
  idle(): Promise<void>;
  /** Stops the server; then throws when a request nobody expected was seen and not taken. */
  close(): Promise<void>;
}

const DEFAULT_OPENAI_KEY = "sk-test-openai-upstream-key";
const DEFAULT_ANTHROPIC_KEY = "sk-ant-test-upstream-key";
const MARKER = /\[\[script:([A-Za-z0-9_.-]+)\]\]/;
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export const scriptedUpstreamDefaults = {
  openaiApiKey: DEFAULT_OPENAI_KEY,
  anthropicApiKey: DEFAULT_ANTHROPIC_KEY,
};

function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, cacheCreationTokens: 0, cacheReadTokens: 0 };
}

export async function startScriptedUpstream(
  options: ScriptedUpstreamOptions = {},
): Promise<ScriptedUpstream> {
  const openaiKey = options.openaiApiKey ?? DEFAULT_OPENAI_KEY;
  const anthropicKey = options.anthropicApiKey ?? DEFAULT_ANTHROPIC_KEY;
  const record = options.recordRequests ?? true;
  const scripts = new Map<string, Script>();
  const faultCursor = new Map<string, number>();
  const sockets = new Set<Socket>();
  let sequence = 0;
  let answering = 0;
  let idleWaiters: (() => void)[] = [];

  const upstream: ScriptedUpstream = {
    url: "",
    requests: [],
    unexpected: [],
    totals: { openai: emptyTotals(), anthropic: emptyTotals() },
    countTokensCalls: 0,
    define(name, script) {
      scripts.set(name, script);
      faultCursor.set(name, 0);
    },
    reset() {
      upstream.requests.length = 0;
      upstream.totals.openai = emptyTotals();
      upstream.totals.anthropic = emptyTotals();
      upstream.countTokensCalls = 0;
    },
    takeUnexpected() {
      return upstream.unexpected.splice(0, upstream.unexpected.length);
    },
    idle() {
      if (answering === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (upstream.unexpected.length > 0) {
        const seen = upstream.unexpected.map((r) => `${r.method} ${r.path}: ${r.problem ?? "?"}`);
        throw new Error(
          `the scripted LLM upstream saw ${seen.length} request(s) nobody expected ` +
            `(a test that provokes them asserts them and calls takeUnexpected()):\n  ${seen.join("\n  ")}`,
        );
      }
    },
  };

  function leaveAnswering() {
    answering -= 1;
    if (answering > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Tracks one call's declared usage so cumulative Anthropic output is added once, as a difference. */
  function startLedgerEntry(provider: Provider) {
    const totals = () => upstream.totals[provider];
    let counted = false;
    let output = 0;
    return {
      declare(usage: { input?: number; output?: number; cacheCreation?: number; cacheRead?: number }) {
        const t = totals();
        if (!counted) {
          t.calls += 1;
          counted = true;
        }
        t.inputTokens += usage.input ?? 0;
        t.cacheCreationTokens += usage.cacheCreation ?? 0;
        t.cacheReadTokens += usage.cacheRead ?? 0;
        if (usage.output !== undefined) {
          t.outputTokens += usage.output - output;
          output = usage.output;
        }
      },
    };
  }

  function finish(recorded: RecordedRequest, status: number, problem?: string) {
    recorded.status = status;
    if (problem !== undefined) {
      recorded.problem = problem;
      upstream.unexpected.push(recorded);
    }
  }

  function sendJson(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...accountHeaders,
      ...headers,
    });
    res.end(text);
  }

  function errorBody(provider: Provider | undefined, type: string, message: string, code?: string) {
    if (provider === "anthropic") return { type: "error", error: { type, message } };
    return { error: { message, type, param: null, code: code ?? null } };
  }

  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    answering += 1;
    void handle(req, res)
      .catch((error: unknown) => {
        // A bug in the stand-in must fail the test, not hang it: visible in `unexpected`, connection cut.
        upstream.unexpected.push({
          at: Date.now(),
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body: undefined,
          rawBody: "",
          query: "",
          provider: undefined,
          script: undefined,
          status: 0,
          problem: `stand-in failed: ${error instanceof Error ? error.message : String(error)}`,
        });
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      })
      .finally(leaveAnswering);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://upstream.invalid");
    const path = url.pathname;
    const provider: Provider | undefined = path.startsWith("/v1/messages")
      ? "anthropic"
      : path.startsWith("/v1/")
        ? "openai"
        : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) break;
      chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    let malformed = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        malformed = true;
      }
    }
    const recorded: RecordedRequest = {
      at: Date.now(),
      method: req.method ?? "",
      path,
      headers: req.headers,
      body,
      rawBody: raw,
      query: url.search,
      provider,
      script: undefined,
      status: 0,
    };
    if (record) upstream.requests.push(recorded);

    const route = `${req.method} ${path}`;
    const known = [
      "POST /v1/chat/completions",
      "POST /v1/responses",
      "GET /v1/models",
      "POST /v1/messages",
      "POST /v1/messages/count_tokens",
    ];
    if (!known.includes(route) || provider === undefined) {
      finish(recorded, 404, `unknown route ${route}`);
      sendJson(res, 404, errorBody(provider, "not_found_error", `Unknown route ${route}`));
      return;
    }

    // Authentication as each provider requires it: OpenAI `Authorization: Bearer <key>`;
    // Anthropic `x-api-key: <key>` or `Authorization: Bearer <key>` (what the current SDK
    // sends). Stricter than the real APIs on purpose: ANY credential header that is not the
    // real key is refused, so a proxy that forwards the run token upstream (in either header)
    // fails its tests instead of leaking the token to the provider.
    const expectedKey = provider === "openai" ? openaiKey : anthropicKey;
    const bearer = req.headers.authorization;
    const apiKeyHeader = req.headers["x-api-key"];
    const credentials = [
      bearer === undefined ? undefined : bearer === `Bearer ${expectedKey}`,
      apiKeyHeader === undefined ? undefined : provider === "anthropic" && apiKeyHeader === expectedKey,
    ];
    if (credentials.includes(false) || !credentials.includes(true)) {
      finish(recorded, 401, `missing or wrong ${provider} credentials`);
      const body =
        provider === "openai"
          ? errorBody(
              "openai",
              "invalid_request_error",
              "Incorrect API key provided. You can find your API key in your account settings.",
              "invalid_api_key",
            )
          : errorBody("anthropic", "authentication_error", "invalid x-api-key");
      sendJson(res, 401, body);
      return;
    }
    if (provider === "anthropic" && typeof req.headers["anthropic-version"] !== "string") {
      finish(recorded, 400, "missing anthropic-version header");
      sendJson(
        res,
        400,
        errorBody("anthropic", "invalid_request_error", "anthropic-version: header is required"),
      );
      return;
    }

    if (route === "GET /v1/models") {
      finish(recorded, 200);
      sendJson(res, 200, {
        object: "list",
        data: ["gpt-4o-mini", "gpt-4.1", "o4-mini"].map((id) => ({
          id,
          object: "model",
          created: 1_700_000_000,
          owned_by: "system",
        })),
      });
      return;
    }

    const invalid = (message: string) => {
      finish(recorded, 400, message);
      sendJson(res, 400, errorBody(provider, "invalid_request_error", message));
    };
    if (malformed || !isRecord(body)) return invalid("We could not parse the JSON body of your request.");
    if (typeof body.model !== "string") return invalid("you must provide a model parameter");

    const text = collectText(body);
    const markerMatch = MARKER.exec(lastUserText(body));
    const scriptName = markerMatch?.[1];
    recorded.script = scriptName;
    let script: Script = options.defaultScript ?? {};
    if (scriptName !== undefined) {
      const found = scripts.get(scriptName);
      if (found === undefined) return invalid(`scripted upstream: no script named "${scriptName}"`);
      script = found;
    }
    const inputTokens = script.inputTokens ?? Math.ceil(text.length / 4) + 3;

    if (route === "POST /v1/messages/count_tokens") {
      if (!Array.isArray(body.messages)) return invalid("messages: Field required");
      upstream.countTokensCalls += 1;
      finish(recorded, 200);
      sendJson(res, 200, { input_tokens: inputTokens });
      return;
    }

    const stream = body.stream === true;
    if (route === "POST /v1/chat/completions") {
      if (!Array.isArray(body.messages)) return invalid("Missing required parameter: 'messages'.");
      if (body.stream_options !== undefined && body.stream_options !== null && !stream) {
        return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.");
      }
    } else if (route === "POST /v1/responses") {
      if (body.input === undefined) return invalid("Missing required parameter: 'input'.");
      if (isRecord(body.stream_options) && "include_usage" in body.stream_options) {
        return invalid("Unknown parameter: 'stream_options.include_usage'.");
      }
    } else {
      if (!Array.isArray(body.messages)) return invalid("messages: Field required");
      if (typeof body.max_tokens !== "number") return invalid("max_tokens: Field required");
      const thinking = body.thinking;
      if (
        isRecord(thinking) &&
        thinking.type === "enabled" &&
        typeof thinking.budget_tokens === "number" &&
        thinking.budget_tokens >= body.max_tokens
      ) {
        return invalid("`max_tokens` must be greater than `thinking.budget_tokens`");
      }
    }

    let fault = script.alwaysFault;
    if (fault === undefined && scriptName !== undefined && script.faults !== undefined) {
      const cursor = faultCursor.get(scriptName) ?? 0;
      if (cursor < script.faults.length) {
        fault = script.faults[cursor];
        faultCursor.set(scriptName, cursor + 1);
      }
    }

    if (script.firstByteDelayMs) await delay(script.firstByteDelayMs);
    if (script.holdFirstByte) {
      await script.holdFirstByte;
      // The client may have given up while it was held (the test cancelled it): answer nobody.
      if (res.destroyed) {
        finish(recorded, 0);
        return;
      }
    }
    if (fault?.kind === "reset") {
      finish(recorded, 0);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      finish(recorded, fault.status);
      const headers: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds);
      const [type, message] =
        fault.status === 429
          ? [provider === "anthropic" ? "rate_limit_error" : "rate_limit_exceeded", "Rate limit reached"]
          : fault.status === 529
            ? ["overloaded_error", "Overloaded"]
            : [provider === "anthropic" ? "api_error" : "server_error", "The server had an error"];
      sendJson(res, fault.status, errorBody(provider, type, message), headers);
      return;
    }

    sequence += 1;
    const exchange: Exchange = {
      id: sequence.toString(36).padStart(8, "0"),
      model: body.model,
      pieces: textPieces(script),
      inputTokens,
      cacheCreationTokens: script.cacheCreationTokens ?? 0,
      cacheReadTokens: script.cacheReadTokens ?? 0,
      script,
      fault,
      outputCap: readOutputCap(body),
      ledger: startLedgerEntry(provider),
    };
    finish(recorded, 200);
    if (route === "POST /v1/chat/completions") {
      if (stream)
        await streamChat(
          res,
          exchange,
          isRecord(body.stream_options) && body.stream_options.include_usage === true,
        );
      else sendChat(res, exchange);
    } else if (route === "POST /v1/responses") {
      if (stream) await streamResponses(res, exchange);
      else sendResponses(res, exchange);
    } else if (stream) await streamAnthropic(res, exchange);
    else sendAnthropic(res, exchange);
  }

  // ---- OpenAI chat completions -------------------------------------------------------

  function chatUsage(x: Exchange) {
    const output = outputTokensOf(x);
    return {
      prompt_tokens: x.inputTokens,
      completion_tokens: output,
      total_tokens: x.inputTokens + output,
      prompt_tokens_details: { cached_tokens: x.cacheReadTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
  }

  function declareOpenAi(x: Exchange) {
    x.ledger.declare({ input: x.inputTokens, output: outputTokensOf(x), cacheRead: x.cacheReadTokens });
  }

  function sendChat(res: http.ServerResponse, x: Exchange) {
    const toolCall = x.script.toolCall;
    const message = toolCall
      ? {
          role: "assistant",
          content: null,
          refusal: null,
          annotations: [],
          tool_calls: [
            {
              id: `call_${x.id}`,
              type: "function",
              function: { name: toolCall.name, arguments: toolCall.arguments },
            },
          ],
        }
      : { role: "assistant", content: x.pieces.join(""), refusal: null, annotations: [] };
    if (!x.script.omitUsage) declareOpenAi(x);
    sendJson(res, 200, {
      id: `chatcmpl-${x.id}`,
      object: "chat.completion",
      created: nowSeconds(),
      model: x.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: toolCall ? "tool_calls" : "stop" }],
      ...(x.script.omitUsage ? {} : { usage: chatUsage(x) }),
      service_tier: "default",
      system_fingerprint: "fp_scripted",
    });
  }

  async function streamChat(res: http.ServerResponse, x: Exchange, includeUsage: boolean) {
    startSse(res);
    const base = {
      id: `chatcmpl-${x.id}`,
      object: "chat.completion.chunk",
      created: nowSeconds(),
      model: x.model,
      service_tier: "default",
      system_fingerprint: "fp_scripted",
    };
    const usageField = includeUsage ? { usage: null } : {};
    const chunk = (delta: object, finishReason: string | null, extra: object = usageField) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...extra })}\n\n`;

    const toolCall = x.script.toolCall;
    const first = toolCall
      ? {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              index: 0,
              id: `call_${x.id}`,
              type: "function",
              function: { name: toolCall.name, arguments: "" },
            },
          ],
        }
      : { role: "assistant", content: "", refusal: null };
    if (!(await write(res, chunk(first, null)))) return;
    const pieces = toolCall ? splitInPieces(toolCall.arguments, x.pieces.length) : x.pieces;
    const finishReason = toolCall ? "tool_calls" : "stop";
    // Some OpenAI-compatible servers (vLLM, Together…) put finish_reason and usage on the last
    // content chunk, whether or not include_usage was asked for.
    const usageOnLast = x.script.usagePlacement === "last-content-chunk";
    for (let i = 0; i < pieces.length; i += 1) {
      if (await faultMidStream(res, x, i)) return;
      if (x.script.chunkDelayMs) await delay(x.script.chunkDelayMs);
      const delta = toolCall
        ? { tool_calls: [{ index: 0, function: { arguments: pieces[i] } }] }
        : { content: pieces[i] };
      if (usageOnLast && i === pieces.length - 1) {
        if (res.destroyed) return;
        declareOpenAi(x);
        if (!(await write(res, chunk(delta, finishReason, { usage: chatUsage(x) })))) return;
      } else if (!(await write(res, chunk(delta, null)))) return;
    }
    if (await faultMidStream(res, x, pieces.length)) return;
    if (!usageOnLast) {
      if (!(await write(res, chunk({}, finishReason)))) return;
      if (includeUsage) {
        if (res.destroyed) return;
        declareOpenAi(x);
        const usageChunk = { ...base, choices: [], usage: chatUsage(x) };
        if (!(await write(res, `data: ${JSON.stringify(usageChunk)}\n\n`))) return;
      }
    }
    await write(res, "data: [DONE]\n\n");
    res.end();
  }

  // ---- OpenAI responses -----------------------------------------------------------------

  function responseObject(x: Exchange, status: "in_progress" | "completed") {
    const output = outputTokensOf(x);
    const text = x.pieces.join("");
    return {
      id: `resp_${x.id}`,
      object: "response",
      created_at: nowSeconds(),
      status,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      model: x.model,
      output:
        status === "completed"
          ? [
              responsesToolItem(x, "completed") ?? {
                id: `msg_${x.id}`,
                type: "message",
                status: "completed",
                role: "assistant",
                content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
              },
            ]
          : [],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: 1,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: 1,
      truncation: "disabled",
      usage:
        status === "completed"
          ? {
              input_tokens: x.inputTokens,
              input_tokens_details: { cached_tokens: x.cacheReadTokens },
              output_tokens: output,
              output_tokens_details: { reasoning_tokens: 0 },
              total_tokens: x.inputTokens + output,
            }
          : null,
      metadata: {},
    };
  }

  function sendResponses(res: http.ServerResponse, x: Exchange) {
    if (x.script.omitUsage) {
      sendJson(res, 200, { ...responseObject(x, "completed"), usage: null });
      return;
    }
    declareOpenAi(x);
    sendJson(res, 200, responseObject(x, "completed"));
  }

  /** A Responses output item for a scripted tool call, or undefined when the script answers in text. */
  function responsesToolItem(x: Exchange, status: "in_progress" | "completed") {
    const done = status === "completed";
    if (x.script.toolCall) {
      const { name, arguments: args } = x.script.toolCall;
      return {
        id: `fc_${x.id}`,
        type: "function_call",
        status,
        call_id: `call_${x.id}`,
        name,
        arguments: done ? args : "",
      };
    }
    if (x.script.customToolCall) {
      const { name, input } = x.script.customToolCall;
      return {
        id: `ctc_${x.id}`,
        type: "custom_tool_call",
        status,
        call_id: `call_${x.id}`,
        name,
        input: done ? input : "",
      };
    }
    return undefined;
  }

  async function streamResponses(res: http.ServerResponse, x: Exchange) {
    startSse(res);
    let seq = 0;
    const event = (type: string, data: object) =>
      write(res, `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
    const itemId = `msg_${x.id}`;
    if (!(await event("response.created", { response: responseObject(x, "in_progress") }))) return;
    if (!(await event("response.in_progress", { response: responseObject(x, "in_progress") }))) return;
    const toolItem = responsesToolItem(x, "in_progress");
    if (toolItem) {
      // A tool call streams its arguments (function) or input (custom) in pieces, as the API does.
      const custom = toolItem.type === "custom_tool_call";
      const full = x.script.toolCall?.arguments ?? x.script.customToolCall?.input ?? "";
      if (!(await event("response.output_item.added", { output_index: 0, item: toolItem }))) return;
      const pieces = splitInPieces(full, x.pieces.length);
      for (let i = 0; i < pieces.length; i += 1) {
        if (await faultMidStream(res, x, i)) return;
        if (x.script.chunkDelayMs) await delay(x.script.chunkDelayMs);
        const kind = custom
          ? "response.custom_tool_call_input.delta"
          : "response.function_call_arguments.delta";
        if (!(await event(kind, { item_id: toolItem.id, output_index: 0, delta: pieces[i] }))) return;
      }
      if (await faultMidStream(res, x, pieces.length)) return;
      const doneKind = custom
        ? "response.custom_tool_call_input.done"
        : "response.function_call_arguments.done";
      const doneData = custom ? { input: full } : { arguments: full };
      if (!(await event(doneKind, { item_id: toolItem.id, output_index: 0, ...doneData }))) return;
      const item = responsesToolItem(x, "completed");
      if (!(await event("response.output_item.done", { output_index: 0, item }))) return;
      if (res.destroyed) return;
      declareOpenAi(x);
      if (!(await event("response.completed", { response: responseObject(x, "completed") }))) return;
      res.end();
      return;
    }
    const emptyItem = { id: itemId, type: "message", status: "in_progress", role: "assistant", content: [] };
    if (!(await event("response.output_item.added", { output_index: 0, item: emptyItem }))) return;
    const emptyPart = { type: "output_text", text: "", annotations: [], logprobs: [] };
    if (
      !(await event("response.content_part.added", {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        part: emptyPart,
      }))
    )
      return;
    for (let i = 0; i < x.pieces.length; i += 1) {
      if (await faultMidStream(res, x, i)) return;
      if (x.script.chunkDelayMs) await delay(x.script.chunkDelayMs);
      const delta = { item_id: itemId, output_index: 0, content_index: 0, delta: x.pieces[i], logprobs: [] };
      if (!(await event("response.output_text.delta", delta))) return;
    }
    if (await faultMidStream(res, x, x.pieces.length)) return;
    const text = x.pieces.join("");
    const done = { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] };
    if (!(await event("response.output_text.done", done))) return;
    const part = { type: "output_text", text, annotations: [], logprobs: [] };
    if (
      !(await event("response.content_part.done", {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        part,
      }))
    )
      return;
    const item = { id: itemId, type: "message", status: "completed", role: "assistant", content: [part] };
    if (!(await event("response.output_item.done", { output_index: 0, item }))) return;
    if (res.destroyed) return;
    declareOpenAi(x);
    if (!(await event("response.completed", { response: responseObject(x, "completed") }))) return;
    res.end();
  }

  // ---- Anthropic messages ---------------------------------------------------------------

  function anthropicContent(x: Exchange) {
    const toolCall = x.script.toolCall;
    return toolCall
      ? [
          {
            type: "tool_use",
            id: `toolu_${x.id}`,
            name: toolCall.name,
            input: JSON.parse(toolCall.arguments) as unknown,
          },
        ]
      : [{ type: "text", text: x.pieces.join(""), citations: null }];
  }

  function anthropicUsage(x: Exchange, output: number) {
    return {
      input_tokens: x.inputTokens,
      cache_creation_input_tokens: x.cacheCreationTokens,
      cache_read_input_tokens: x.cacheReadTokens,
      cache_creation: { ephemeral_5m_input_tokens: x.cacheCreationTokens, ephemeral_1h_input_tokens: 0 },
      output_tokens: output,
      service_tier: "standard",
    };
  }

  function sendAnthropic(res: http.ServerResponse, x: Exchange) {
    const output = outputTokensOf(x);
    x.ledger.declare({
      input: x.inputTokens,
      output,
      cacheCreation: x.cacheCreationTokens,
      cacheRead: x.cacheReadTokens,
    });
    sendJson(res, 200, {
      id: `msg_${x.id}`,
      type: "message",
      role: "assistant",
      model: x.model,
      content: anthropicContent(x),
      stop_reason: x.script.toolCall ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage: anthropicUsage(x, output),
    });
  }

  async function streamAnthropic(res: http.ServerResponse, x: Exchange) {
    startSse(res);
    const event = (type: string, data: object) =>
      write(res, `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    const startOutput = 1;
    const message = {
      id: `msg_${x.id}`,
      type: "message",
      role: "assistant",
      model: x.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: anthropicUsage(x, startOutput),
    };
    if (res.destroyed) return;
    x.ledger.declare({
      input: x.inputTokens,
      output: startOutput,
      cacheCreation: x.cacheCreationTokens,
      cacheRead: x.cacheReadTokens,
    });
    if (!(await event("message_start", { message }))) return;
    const toolCall = x.script.toolCall;
    const block = toolCall
      ? { type: "tool_use", id: `toolu_${x.id}`, name: toolCall.name, input: {} }
      : { type: "text", text: "" };
    if (!(await event("content_block_start", { index: 0, content_block: block }))) return;
    if (!(await event("ping", {}))) return;
    const pieces = toolCall ? splitInPieces(toolCall.arguments, x.pieces.length) : x.pieces;
    const output = outputTokensOf(x);
    const deltas = Math.max(1, x.script.messageDeltas ?? 1);
    for (let i = 0; i < pieces.length; i += 1) {
      if (await faultMidStream(res, x, i)) return;
      if (x.script.chunkDelayMs) await delay(x.script.chunkDelayMs);
      const delta = toolCall
        ? { type: "input_json_delta", partial_json: pieces[i] }
        : { type: "text_delta", text: pieces[i] };
      if (!(await event("content_block_delta", { index: 0, delta }))) return;
    }
    if (await faultMidStream(res, x, pieces.length)) return;
    if (!(await event("content_block_stop", { index: 0 }))) return;
    for (let d = 1; d <= deltas; d += 1) {
      // Cumulative, as the real API: each message_delta carries the output so far, never an increment.
      const cumulative = Math.max(startOutput, Math.round((output * d) / deltas));
      const usage = x.script.deltaUsageRepeatsInput
        ? {
            input_tokens: x.inputTokens,
            cache_creation_input_tokens: x.cacheCreationTokens,
            cache_read_input_tokens: x.cacheReadTokens,
            output_tokens: cumulative,
          }
        : { output_tokens: cumulative };
      const last = d === deltas;
      const data = {
        delta: { stop_reason: last ? (toolCall ? "tool_use" : "end_turn") : null, stop_sequence: null },
        usage,
      };
      if (res.destroyed) return;
      x.ledger.declare({ output: cumulative });
      if (!(await event("message_delta", data))) return;
    }
    if (!(await event("message_stop", {}))) return;
    res.end();
  }

  /** Applies a mid-stream fault due at content chunk `index`; true when the stream is over. */
  async function faultMidStream(res: http.ServerResponse, x: Exchange, index: number) {
    const fault = x.fault;
    if (res.destroyed) return true;
    if (fault === undefined || fault.kind === "status" || fault.kind === "reset") return false;
    if (fault.afterChunks !== index) return false;
    if (fault.kind === "end-early") res.end();
    else if (fault.kind === "reset-mid-stream") res.socket?.destroy();
    else {
      const errorType = fault.errorType ?? "overloaded_error";
      await write(
        res,
        `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: errorType, message: "Overloaded" } })}\n\n`,
      );
      res.end();
    }
    return true;
  }

  server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  await once(server, "listening");
  const address = server.address() as AddressInfo;
  upstream.url = `http://${address.address}:${address.port}`;
  return upstream;
}

interface Exchange {
  id: string;
  model: string;
  pieces: string[];
  inputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  script: Script;
  fault: ScriptedFault | undefined;
  /** The request's own output cap, which the real providers honour. */
  outputCap: number | undefined;
  ledger: {
    declare(usage: { input?: number; output?: number; cacheCreation?: number; cacheRead?: number }): void;
  };
}

function outputTokensOf(x: Exchange): number {
  return Math.min(x.script.outputTokens ?? x.pieces.length, x.outputCap ?? Infinity);
}

/** The smallest of the output caps a request names, in any wire format. */
function readOutputCap(body: Record<string, unknown>): number | undefined {
  const caps = [body.max_tokens, body.max_completion_tokens, body.max_output_tokens].filter(
    (v): v is number => typeof v === "number" && Number.isFinite(v),
  );
  return caps.length === 0 ? undefined : Math.min(...caps);
}

function textPieces(script: Script): string[] {
  if (script.chunks !== undefined) {
    return Array.from({ length: script.chunks }, (_, i) => (i === 0 ? `w${i}` : ` w${i}`));
  }
  const words = (script.text ?? "Hello from the scripted upstream.").split(" ");
  return words.map((word, i) => (i === 0 ? word : ` ${word}`));
}

function splitInPieces(text: string, count: number): string[] {
  const n = Math.max(1, Math.min(count, text.length));
  const size = Math.ceil(text.length / n);
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

/**
 * The providers name the account a call was billed to in their answers; a proxy must not
 * hand the operator's account to the agent (issue 9), so the stand-in sends them too.
 */
export const accountHeaders = {
  "openai-organization": "org-scripted-operator",
  "openai-project": "proj_scripted_operator",
  "anthropic-organization-id": "0f0e0d0c-scripted-operator",
};

function startSse(res: http.ServerResponse) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    ...accountHeaders,
  });
  res.flushHeaders();
}

/** Writes one SSE frame, waiting for drain; false when the client is gone. */
async function write(res: http.ServerResponse, text: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (!res.write(text)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off("drain", done);
        res.off("close", done);
        resolve();
      };
      res.on("drain", done);
      res.on("close", done);
    });
  }
  return !res.destroyed;
}

function delay(ms: number) {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Text of a message's content: a string, or an array of parts with `text`. */
function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => (isRecord(part) && typeof part.text === "string" ? part.text : ""))
    .join("");
}

function collectText(body: Record<string, unknown>): string {
  let text = typeof body.system === "string" ? body.system : contentText(body.system);
  if (typeof body.instructions === "string") text += body.instructions;
  const items = Array.isArray(body.messages) ? body.messages : body.input;
  if (typeof items === "string") return text + items;
  if (!Array.isArray(items)) return text;
  for (const item of items as unknown[]) {
    if (isRecord(item)) text += contentText(item.content);
  }
  return text;
}

function lastUserText(body: Record<string, unknown>): string {
  const items = Array.isArray(body.messages) ? body.messages : body.input;
  if (typeof items === "string") return items;
  if (!Array.isArray(items)) return "";
  for (let i = items.length - 1; i >= 0; i -= 1) {
    const item: unknown = items[i];
    if (isRecord(item) && item.role === "user") return contentText(item.content);
  }
  return "";
}
