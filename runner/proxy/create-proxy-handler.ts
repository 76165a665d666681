import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { Agent, type Dispatcher } from "undici";
import { Registry } from "prom-client";
import type { Db } from "../../core/db/open-database.ts";
import type { NewLlmCall } from "../../core/db/schema.ts";
import { appendRunEvent } from "../../core/db/runs.ts";
import { isTerminalRunState } from "../../core/run-states.ts";
import type { Logger } from "../../core/logger.ts";
import { createCallRecorder, type CallRecorder } from "./call-recorder.ts";
import {
  chooseUpstreams,
  compileRouting,
  defaultRouting,
  type CompiledRoutingRule,
  resolveUpstreams,
  type ProxyUpstreams,
  type ResolvedUpstream,
  type RoutingRule,
} from "./choose-upstreams.ts";
import { createProxyMetrics, type ProxyMetrics } from "./create-proxy-metrics.ts";
import { createStreamMeter, readJsonUsage, type MeterKind, type StreamMeter } from "./meter-usage.ts";
import { defaultPriceTable, findModelPrice, type PriceTable } from "./price-table.ts";
import { createRunLedger, type Reservation, type RunAccount, type RunLedger } from "./run-ledger.ts";
import { verifyRunToken } from "./run-token.ts";
import { isRetryableStatus, sendUpstream, type RetryPolicy, type UpstreamOutcome } from "./send-upstream.ts";
import { sendProviderError, type ProxyErrorKind, type WireFormat } from "./send-provider-error.ts";
import { countTotalTokens, emptyUsage, formatCostUnits, priceUsage, type Usage } from "./usage.ts";

export interface ProxyTimeouts {
  connectMs: number;
  /** Upstream silence allowed before the response headers; retried like a 5xx. */
  firstByteMs: number;
  /** Upstream silence allowed between body chunks once the response has started. */
  idleMs: number;
}

export interface ProxyBudgetPolicy {
  /** Fraction of a budget at which a `budget.soft_threshold` run event is recorded once. */
  softThreshold: number;
  /** A running stream is cut only when its declared usage takes the run past budget × this. */
  hardCeilingRatio: number;
  /** Requests of one run in flight at once; more get 429. */
  maxConcurrentPerRun: number;
  /** Output tokens reserved for a request that names no max_tokens. */
  defaultMaxOutputTokens: number;
}

export interface ProxyDeps {
  db: Db;
  tokenSecret: string;
  upstreams: ProxyUpstreams;
  /** Model → upstream; defaults to claude-* → anthropic, everything else → openai. */
  routing?: readonly RoutingRule[];
  /** Upstream name → upstreams to try, in order, when it fails (same wire format only). */
  fallback?: Readonly<Record<string, readonly string[]>>;
  /** Full price table (defaultPriceTable merged with the operator's file, by the entry point). */
  prices?: PriceTable;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<ProxyTimeouts>;
  budget?: Partial<ProxyBudgetPolicy>;
  /** Largest request body accepted (bytes); larger gets 413. */
  bodyLimitBytes?: number;
  /** Largest request or response body stored in llm_calls (bytes); the rest is cut with a marker. */
  auditBodyLimitBytes?: number;
  /** How long a run's state and budget are trusted before being re-read; also how long a healthy database is assumed. */
  runCacheTtlMs?: number;
  logger: Logger;
  metrics?: Registry;
  clock?: { now(): number };
  /** When set, only tokens naming this run are accepted (the per-run socket). */
  runId?: string;
  /** Upstream connection pool; one is created (and closed by close()) when absent. */
  dispatcher?: Dispatcher;
}

export type ProxyHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Resolves when every call finished so far is committed to llm_calls. The runner awaits it before a run ends. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flush, then release upstream connections. */
  close(timeoutMs?: number): Promise<void>;
  readonly metricsRegistry: Registry;
  readonly recorder: CallRecorder;
};

interface Route {
  format: WireFormat;
  meter: MeterKind | undefined;
  billable: boolean;
  hasBody: boolean;
}

const routes: Record<string, Route> = {
  "POST /v1/chat/completions": { format: "openai", meter: "openai-chat", billable: true, hasBody: true },
  "POST /v1/responses": { format: "openai", meter: "openai-responses", billable: true, hasBody: true },
  "GET /v1/models": { format: "openai", meter: undefined, billable: false, hasBody: false },
  "POST /v1/messages": { format: "anthropic", meter: "anthropic-messages", billable: true, hasBody: true },
  "POST /v1/messages/count_tokens": { format: "anthropic", meter: undefined, billable: false, hasBody: true },
};

/** Client headers never forwarded: hop-by-hop, credentials (replaced by the real key), and encodings we must read. */
const droppedRequestHeaders = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "authorization",
  "x-api-key",
  "content-length",
  "accept-encoding",
  "cookie",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

const passedResponseHeader =
  /^(content-type|request-id|x-request-id|openai-|anthropic-|x-ratelimit-|retry-after)/;

const budgetRaiseHint = (runId: string) =>
  `an operator raises it with: airlock token --run ${runId} --budget-usd <amount> --budget-tokens <n>`;

/**
 * The metered LLM proxy as a plain node:http handler (DESIGN §5). Per request: verify the
 * run token, load the run's account (database reachable, run active), read and parse the
 * body, reserve budget, forward to the routed upstream with retries and fallback, pass
 * the response through as it arrives while metering usage, settle the budget, and queue
 * the llm_calls row. `flush()` commits queued rows.
 */
export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const now = () => deps.clock?.now() ?? Date.now();
  const prices = deps.prices ?? defaultPriceTable;
  const routing = compileRouting(deps.routing ?? defaultRouting);
  const fallback = deps.fallback ?? {};
  const retry: RetryPolicy = { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 5_000, ...deps.retry };
  const timeouts: ProxyTimeouts = {
    connectMs: 10_000,
    firstByteMs: 300_000,
    idleMs: 300_000,
    ...deps.timeouts,
  };
  const budgetPolicy: ProxyBudgetPolicy = {
    softThreshold: 0.8,
    hardCeilingRatio: 1.5,
    maxConcurrentPerRun: 256,
    defaultMaxOutputTokens: 4096,
    ...deps.budget,
  };
  const bodyLimit = deps.bodyLimitBytes ?? 32 * 1024 * 1024;
  const auditLimit = deps.auditBodyLimitBytes ?? 1024 * 1024;
  const runCacheTtlMs = deps.runCacheTtlMs ?? 250;
  const upstreams = resolveUpstreams(deps.upstreams);
  const realKeys = [...upstreams.values()].map((u) => u.apiKey).filter((k): k is string => Boolean(k));
  const ownsDispatcher = deps.dispatcher === undefined;
  const dispatcher =
    deps.dispatcher ??
    new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connections: 1024,
      connect: { timeout: timeouts.connectMs },
    });
  const registry = deps.metrics ?? new Registry();
  const metrics = createProxyMetrics(registry);
  const recorder = createCallRecorder({ db: deps.db, logger: deps.logger, secret: deps.tokenSecret });
  const ledger = createRunLedger({
    db: deps.db,
    now,
    cacheTtlMs: runCacheTtlMs,
    softThreshold: budgetPolicy.softThreshold,
    maxConcurrentPerRun: budgetPolicy.maxConcurrentPerRun,
  });
  const context: HandlerContext = {
    deps,
    now,
    prices,
    routing,
    fallback,
    retry,
    timeouts,
    budgetPolicy,
    bodyLimit,
    auditLimit,
    upstreams,
    realKeys,
    dispatcher,
    metrics,
    recorder,
    ledger,
  };

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    handleRequest(context, req, res).catch((error: unknown) => {
      deps.logger.error({ err: { message: (error as Error).message } }, "proxy request failed unexpectedly");
      const format: WireFormat = (req.url ?? "").startsWith("/v1/messages") ? "anthropic" : "openai";
      sendProviderError(
        res,
        format,
        500,
        "upstream",
        "the Airlock proxy failed unexpectedly; see the proxy log",
      );
    });
  }) as ProxyHandler;
  Object.defineProperties(handler, {
    flush: { value: (timeoutMs?: number) => recorder.flush(timeoutMs) },
    close: {
      value: async (timeoutMs?: number) => {
        try {
          await recorder.close(timeoutMs);
        } finally {
          if (ownsDispatcher) await dispatcher.close();
        }
      },
    },
    metricsRegistry: { value: registry },
    recorder: { value: recorder },
  });
  return handler;
}

interface HandlerContext {
  deps: ProxyDeps;
  now: () => number;
  prices: PriceTable;
  routing: readonly CompiledRoutingRule[];
  fallback: Readonly<Record<string, readonly string[]>>;
  retry: RetryPolicy;
  timeouts: ProxyTimeouts;
  budgetPolicy: ProxyBudgetPolicy;
  bodyLimit: number;
  auditLimit: number;
  upstreams: ReadonlyMap<string, ResolvedUpstream>;
  realKeys: string[];
  dispatcher: Dispatcher;
  metrics: ProxyMetrics;
  recorder: CallRecorder;
  ledger: RunLedger;
}

function guessFormat(req: IncomingMessage, path: string): WireFormat {
  return path.startsWith("/v1/messages") || req.headers["anthropic-version"] !== undefined
    ? "anthropic"
    : "openai";
}

function readToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === "string") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const key = req.headers["x-api-key"];
  return typeof key === "string" && key.length > 0 ? key.trim() : undefined;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too_large"> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve("too_large");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.pause();
        resolve("too_large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on("error", reject);
  });
}

function clip(text: string, limit: number): string {
  return text.length <= limit
    ? text
    : `${text.slice(0, limit)}…[truncated ${text.length - limit} characters]`;
}

function numberField(body: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const name of names) {
    const v = body[name];
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return Math.ceil(v);
  }
  return undefined;
}

/** One request's record, filled in as it goes and written once at the end. */
interface CallRecord {
  account: RunAccount;
  route: Route;
  path: string;
  token: string;
  startedAt: Date;
  startedPerf: number;
  provider: string;
  model: string | undefined;
  stream: boolean;
  status: number;
  error: string | undefined;
  /** The proxy's own refusal kind, when it answered instead of the upstream. */
  refusal: ProxyErrorKind | undefined;
  ttfbMs: number | undefined;
  usage: Usage;
  clientAborted: boolean;
  attempts: number;
  requestBody: string | undefined;
  responseBody: string | undefined;
  reservation: Reservation | undefined;
}

async function handleRequest(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const startedPerf = performance.now();
  const startedAt = new Date(ctx.now());
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? "" : url.slice(queryAt);
  const route = routes[`${req.method ?? ""} ${path}`];
  if (!route) {
    ctx.metrics.refusals.inc({ reason: "not_found" });
    req.resume();
    sendProviderError(
      res,
      guessFormat(req, path),
      404,
      "not_found",
      `Airlock's proxy has no route ${req.method ?? ""} ${path}; it serves POST /v1/chat/completions, POST /v1/responses, GET /v1/models, POST /v1/messages and POST /v1/messages/count_tokens`,
    );
    return;
  }
  const format = route.format;

  // 1. The run token: signature, expiry, and (on a run's socket) the run it names.
  const token = readToken(req);
  const refuse = (status: number, kind: ProxyErrorKind, reason: string, message: string) => {
    ctx.metrics.refusals.inc({ reason });
    req.resume();
    sendProviderError(res, format, status, kind, message);
  };
  if (!token) {
    refuse(
      401,
      "authentication",
      "auth",
      "missing run token: send it as Authorization: Bearer <token> or x-api-key",
    );
    return;
  }
  const verified = verifyRunToken(token, ctx.deps.tokenSecret, Math.floor(ctx.now() / 1000));
  if (!verified.ok) {
    const why =
      verified.reason === "expired"
        ? "the run token has expired; mint a new one with airlock token"
        : "invalid run token (malformed or bad signature)";
    refuse(401, "authentication", "auth", why);
    return;
  }
  if (ctx.deps.runId !== undefined && verified.runId !== ctx.deps.runId) {
    refuse(401, "authentication", "auth", "this run token is not valid on this socket: it names another run");
    return;
  }

  // 2. The run's account. A database we cannot read is a database we cannot record to.
  let account: RunAccount | undefined;
  if (!ctx.recorder.healthy) {
    refuse(
      503,
      "unavailable",
      "database",
      "the Airlock proxy cannot write to its audit database and serves no call it cannot record; retry later",
    );
    return;
  }
  try {
    account = await ctx.ledger.load(verified.runId);
  } catch (error) {
    ctx.deps.logger.error(
      { runId: verified.runId, err: { message: (error as Error).message } },
      "database unreachable; refusing call",
    );
    refuse(
      503,
      "unavailable",
      "database",
      "the Airlock proxy cannot reach its audit database and serves no call it cannot record; retry later",
    );
    return;
  }
  if (!account) {
    refuse(
      401,
      "authentication",
      "auth",
      "invalid run token: the run is unknown to this Airlock installation",
    );
    return;
  }
  if (account.attempt !== verified.attempt) {
    refuse(401, "authentication", "auth", "invalid run token: it was issued for another attempt of this run");
    return;
  }

  const call: CallRecord = {
    account,
    route,
    path,
    token,
    startedAt,
    startedPerf,
    provider: "none",
    model: undefined,
    stream: false,
    status: 0,
    error: undefined,
    refusal: undefined,
    ttfbMs: undefined,
    usage: emptyUsage(format === "openai"),
    clientAborted: false,
    attempts: 0,
    requestBody: undefined,
    responseBody: undefined,
    reservation: undefined,
  };
  const refuseRecorded = (status: number, kind: ProxyErrorKind, reason: string, message: string) => {
    refuse(status, kind, reason, message);
    call.status = status;
    call.error = `${kind}: ${message}`;
    call.refusal = kind;
    finishCall(ctx, call);
  };

  if (isTerminalRunState(account.state)) {
    refuseRecorded(
      403,
      "permission",
      "run_finished",
      `run ${account.runId} has finished (${account.state}); it makes no more calls`,
    );
    return;
  }

  // 3. The body: size limit, JSON, model.
  let body: Buffer | undefined;
  let parsed: Record<string, unknown> = {};
  if (route.hasBody) {
    const read = await readBody(req, ctx.bodyLimit);
    if (read === "too_large") {
      res.setHeader("connection", "close");
      refuseRecorded(
        413,
        "too_large",
        "too_large",
        `request body is larger than the proxy's limit of ${ctx.bodyLimit} bytes`,
      );
      return;
    }
    body = read;
    call.requestBody = clip(body.toString("utf8"), ctx.auditLimit);
    let json: unknown;
    try {
      json = JSON.parse(call.requestBody.length === body.length ? call.requestBody : body.toString("utf8"));
    } catch (error) {
      refuseRecorded(
        400,
        "invalid_request",
        "bad_json",
        `request body is not valid JSON: ${(error as Error).message}`,
      );
      return;
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      refuseRecorded(400, "invalid_request", "bad_json", "request body must be a JSON object");
      return;
    }
    parsed = json as Record<string, unknown>;
    if (typeof parsed.model !== "string" || parsed.model === "") {
      refuseRecorded(400, "invalid_request", "bad_request", "model: a model id (string) is required");
      return;
    }
    call.model = parsed.model;
    call.stream = parsed.stream === true;
  } else {
    req.resume();
  }

  // 4. Where it goes.
  const chain = chooseUpstreams(ctx.upstreams, ctx.routing, ctx.fallback, format, call.model);
  if (chain.length === 0) {
    const envHint =
      format === "anthropic" ? "ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL" : "OPENAI_API_KEY / OPENAI_BASE_URL";
    refuseRecorded(
      503,
      "unavailable",
      "no_upstream",
      `no ${format}-format upstream is configured on this proxy (set ${envHint})`,
    );
    return;
  }
  call.provider = chain[0]!.name;

  // 5. Budget and concurrency, reserved in one synchronous step.
  let estimate = { units: 0, tokens: 0 };
  if (route.billable && body) {
    const inputTokens = Math.ceil(body.length / 4);
    const outputTokens =
      numberField(parsed, "max_tokens", "max_completion_tokens", "max_output_tokens") ??
      ctx.budgetPolicy.defaultMaxOutputTokens;
    const price = findModelPrice(ctx.prices, call.model)?.price;
    estimate = {
      tokens: inputTokens + outputTokens,
      units: price
        ? Math.round(inputTokens * price.input * 10_000 + outputTokens * price.output * 10_000)
        : 0,
    };
  }
  const reserved = ctx.ledger.reserve(account, estimate, route.billable);
  if (!reserved.ok) {
    ctx.metrics.budgetRejections.inc({ limit: reserved.limit });
    const message =
      reserved.limit === "concurrency"
        ? `run ${account.runId} already has ${ctx.budgetPolicy.maxConcurrentPerRun} requests in flight, the per-run concurrency limit; wait for one to finish`
        : reserved.limit === "usd"
          ? `run ${account.runId} has spent its USD budget (${formatCostUnits(account.spentUnits)} of ${formatCostUnits(account.budgetUnits ?? 0)} USD); ${budgetRaiseHint(account.runId)}`
          : `run ${account.runId} has spent its token budget (${account.spentTokens} of ${account.budgetTokens ?? 0} tokens); ${budgetRaiseHint(account.runId)}`;
    refuseRecorded(
      429,
      reserved.limit === "concurrency" ? "rate_limit" : "budget",
      `budget_${reserved.limit}`,
      message,
    );
    return;
  }
  call.reservation = reserved.reservation;

  // 6. Ask OpenAI for usage on streams when the client did not, and hide it again.
  let forwardBody = body;
  let stripUsage = false;
  if (route.meter === "openai-chat" && call.stream) {
    const options = parsed.stream_options;
    const asked =
      typeof options === "object" &&
      options !== null &&
      (options as Record<string, unknown>).include_usage === true;
    if (!asked) {
      stripUsage = true;
      parsed.stream_options = {
        ...(typeof options === "object" && options !== null ? options : {}),
        include_usage: true,
      };
      forwardBody = Buffer.from(JSON.stringify(parsed));
    }
  }

  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) {
      call.clientAborted = true;
      abort.abort(new Error("client closed the connection"));
    }
  });

  // 7. Forward: retries per upstream, then the fallback chain.
  let outcome: UpstreamOutcome | undefined;
  try {
    for (let i = 0; i < chain.length; i++) {
      const upstream = chain[i]!;
      outcome = await sendUpstream(
        ctx.dispatcher,
        upstream,
        {
          method: req.method ?? "GET",
          path: (upstream.format === "openai" ? path.slice(3) : path) + query,
          headers: buildUpstreamHeaders(req, upstream, forwardBody !== undefined),
          body: forwardBody,
          signal: abort.signal,
          firstByteTimeoutMs: ctx.timeouts.firstByteMs,
          idleTimeoutMs: ctx.timeouts.idleMs,
        },
        ctx.retry,
        (reason) => ctx.metrics.upstreamErrors.inc({ provider: upstream.name, reason }),
      );
      call.attempts += outcome.attempts;
      call.provider = upstream.name;
      const failed =
        outcome.kind === "failed" ||
        (outcome.kind === "response" && isRetryableStatus(outcome.response.statusCode));
      if (!failed || i === chain.length - 1) break;
      if (outcome.kind === "response") await outcome.response.body.dump().catch(() => undefined);
      ctx.deps.logger.warn(
        { runId: account.runId, provider: upstream.name, next: chain[i + 1]!.name },
        "upstream failed; trying fallback",
      );
    }
  } catch (error) {
    // Only an aborted client lands here: nothing to answer, but the call is still recorded.
    call.clientAborted = true;
    call.status = 499;
    call.error = `client aborted before the upstream answered: ${(error as Error).message}`;
    finishCall(ctx, call);
    return;
  }
  if (!outcome) throw new Error("no upstream attempted");
  if (outcome.kind === "failed") {
    const status = outcome.timeout ? 504 : 502;
    const message = outcome.timeout
      ? `upstream ${outcome.upstream.name} did not answer in time after ${call.attempts} attempts`
      : `upstream ${outcome.upstream.name} could not be reached after ${call.attempts} attempts (${outcome.reason})`;
    call.status = status;
    call.error = message;
    sendProviderError(res, format, status, "upstream", message);
    finishCall(ctx, call);
    return;
  }

  // 8. Pass the response through while metering it.
  const response = outcome.response;
  call.status = response.statusCode;
  call.ttfbMs = Math.round(performance.now() - startedPerf);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && passedResponseHeader.test(name))
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const contentType = headers["content-type"] ?? "";
  const isStream = response.statusCode < 300 && contentType.startsWith("text/event-stream");

  if (!isStream) {
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      call.error = `upstream body failed: ${(error as Error).message}`;
      if (!call.clientAborted) sendProviderError(res, format, 502, "upstream", "upstream response broke off");
      finishCall(ctx, call);
      return;
    }
    if (response.statusCode >= 400) {
      // Providers echo (masked) keys in auth errors; the client must never see ours.
      text = redactUpstreamText(text, ctx.realKeys);
      call.error = clip(text, 2000);
    }
    call.responseBody = clip(text, ctx.auditLimit);
    if (route.meter && response.statusCode < 300) {
      try {
        const usage = readJsonUsage(route.meter, JSON.parse(text));
        if (usage) call.usage = usage;
      } catch {
        call.error = "upstream returned a body that is not JSON";
      }
    }
    const out = Buffer.from(text);
    headers["content-length"] = String(out.length);
    res.writeHead(response.statusCode, headers);
    res.end(out);
    finishCall(ctx, call);
    return;
  }

  headers["cache-control"] = "no-cache";
  res.writeHead(response.statusCode, headers);
  res.flushHeaders();
  const meter = createStreamMeter(route.meter ?? "openai-chat", stripUsage);
  const captured: Buffer[] = [];
  let capturedBytes = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (capturedBytes < ctx.auditLimit) {
        captured.push(chunk);
        capturedBytes += chunk.length;
      }
      const out = meter.push(chunk);
      if (out.length > 0 && !res.write(out)) await waitForDrain(res, abort.signal);
      if (meter.sawUsage && passesHardCeiling(ctx, call, meter)) {
        call.error = "stream cut: the run passed its hard budget ceiling";
        abort.abort(new Error(call.error));
        break;
      }
    }
    const rest = meter.end();
    if (call.error?.startsWith("stream cut")) res.destroy();
    else res.end(rest);
  } catch (error) {
    if (!call.clientAborted) {
      call.error = `upstream stream broke off: ${(error as Error).message}`;
      res.destroy();
    }
    meter.end();
  }
  call.usage = meter.usage;
  if (meter.error && !call.error) call.error = meter.error;
  call.responseBody = clip(Buffer.concat(captured).toString("utf8"), ctx.auditLimit);
  finishCall(ctx, call);
}

function passesHardCeiling(ctx: HandlerContext, call: CallRecord, meter: StreamMeter): boolean {
  const account = call.account;
  const reservation = call.reservation;
  if (!reservation || !call.route.billable) return false;
  const ratio = ctx.budgetPolicy.hardCeilingRatio;
  const others = {
    units: account.reservedUnits - reservation.units,
    tokens: account.reservedTokens - reservation.tokens,
  };
  if (account.budgetTokens !== undefined) {
    const live = countTotalTokens(meter.usage);
    if (account.spentTokens + others.tokens + live > account.budgetTokens * ratio) return true;
  }
  if (account.budgetUnits !== undefined) {
    const live = priceUsage(ctx.prices, [call.model, meter.model], meter.usage).costUnits;
    if (account.spentUnits + others.units + live > account.budgetUnits * ratio) return true;
  }
  return false;
}

function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const done = () => {
      res.off("drain", done);
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      res.off("drain", done);
      reject(signal.reason as Error);
    };
    res.on("drain", done);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function redactUpstreamText(text: string, keys: readonly string[]): string {
  let out = text;
  for (const key of keys) {
    if (key.length >= 8 && out.includes(key)) out = out.split(key).join("[REDACTED]");
  }
  return out;
}

function buildUpstreamHeaders(
  req: IncomingMessage,
  upstream: ResolvedUpstream,
  hasBody: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || droppedRequestHeaders.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  if (hasBody) headers["content-type"] = "application/json";
  headers["accept-encoding"] = "identity";
  if (upstream.format === "anthropic") {
    headers["anthropic-version"] ??= "2023-06-01";
    if (upstream.apiKey) headers["x-api-key"] = upstream.apiKey;
  } else if (upstream.apiKey) {
    headers.authorization = `Bearer ${upstream.apiKey}`;
  }
  return headers;
}

/** Settle the budget, count metrics, queue the row. Called exactly once per recorded call. */
function finishCall(ctx: HandlerContext, call: CallRecord): void {
  const latencyMs = Math.round(performance.now() - call.startedPerf);
  const billable = call.route.billable;
  const usage = billable ? call.usage : emptyUsage(call.usage.inputIncludesCache);
  const priced = priceUsage(ctx.prices, [call.model], usage);
  const tokens = countTotalTokens(usage);
  const hasUsage = tokens > 0;
  if (call.reservation) {
    // OpenAI declares usage only at the end of a stream: an agent that hangs up just before
    // it would spend without paying. The provider still bills us, so the budget is charged
    // the reservation (the row keeps the zero the provider declared to us).
    const unmetered = call.clientAborted && billable && tokens === 0;
    const charge = unmetered
      ? { units: call.reservation.units, tokens: call.reservation.tokens }
      : { units: priced.costUnits, tokens };
    const crossed = ctx.ledger.settle(call.reservation, charge);
    if (crossed) {
      const account = call.account;
      ctx.recorder.track(
        appendRunEvent(ctx.deps.db, account.runId, "budget.soft_threshold", {
          threshold: ctx.budgetPolicy.softThreshold,
          spentUsd: formatCostUnits(account.spentUnits),
          budgetUsd: account.budgetUnits === undefined ? null : formatCostUnits(account.budgetUnits),
          spentTokens: account.spentTokens,
          budgetTokens: account.budgetTokens ?? null,
        }),
      );
      ctx.deps.logger.warn({ runId: account.runId }, "run passed its soft budget threshold");
    }
  }
  const modelLabel = priced.priceKey ?? "unpriced";
  const unpriced = billable && hasUsage && !priced.priced;
  if (unpriced) {
    ctx.deps.logger.warn(
      {
        runId: call.account.runId,
        model: call.model,
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
      },
      "model has no price: tokens recorded, cost flagged unpriced (add it to AIRLOCK_PRICES_FILE)",
    );
  }
  ctx.metrics.calls.inc({ provider: call.provider, model: modelLabel, status: String(call.status) });
  if (hasUsage) {
    ctx.metrics.tokens.inc({ provider: call.provider, model: modelLabel, kind: "input" }, usage.inputTokens);
    ctx.metrics.tokens.inc(
      { provider: call.provider, model: modelLabel, kind: "output" },
      usage.outputTokens,
    );
    if (usage.cacheCreationTokens > 0) {
      ctx.metrics.tokens.inc(
        { provider: call.provider, model: modelLabel, kind: "cache_creation" },
        usage.cacheCreationTokens,
      );
    }
    if (usage.cacheReadTokens > 0) {
      ctx.metrics.tokens.inc(
        { provider: call.provider, model: modelLabel, kind: "cache_read" },
        usage.cacheReadTokens,
      );
    }
    ctx.metrics.costUsd.inc({ provider: call.provider, model: modelLabel }, priced.costUnits / 1e10);
  }
  const streamLabel = String(call.stream);
  if (call.provider !== "none") {
    ctx.metrics.latency.observe({ provider: call.provider, stream: streamLabel }, latencyMs / 1000);
    if (call.ttfbMs !== undefined)
      ctx.metrics.ttfb.observe({ provider: call.provider, stream: streamLabel }, call.ttfbMs / 1000);
  }
  const row: NewLlmCall = {
    runId: call.account.runId,
    attempt: call.account.attempt,
    provider: call.provider,
    model: call.model ?? null,
    endpoint: call.path,
    stream: call.stream,
    status: call.status,
    error: call.error ?? null,
    refusal: call.refusal ?? null,
    startedAt: call.startedAt,
    latencyMs,
    ttfbMs: call.ttfbMs ?? null,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cacheCreationTokens: usage.cacheCreationTokens,
    cacheReadTokens: usage.cacheReadTokens,
    costUsd: formatCostUnits(priced.costUnits),
    priced: !unpriced,
    clientAborted: call.clientAborted,
    upstreamAttempts: call.attempts,
    requestBody: call.requestBody ?? null,
    responseBody: call.responseBody ?? null,
  };
  ctx.recorder.record(row, [call.token, ...ctx.realKeys]);
  ctx.deps.logger.debug(
    {
      runId: call.account.runId,
      provider: call.provider,
      status: call.status,
      latencyMs,
      aborted: call.clientAborted,
    },
    "llm call",
  );
}
