import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { Registry } from "prom-client";
import type { CallRecorder } from "./call-recorder.ts";
import { startCallRecord } from "./call-record.ts";
import { clipText } from "./clip-text.ts";
import { createProxyContext, type ProxyContext } from "./proxy-context.ts";
import type { ProxyDeps } from "./proxy-deps.ts";
import type { ProxyRefusal } from "./proxy-refusal.ts";
import { findProxyRoute, guessWireFormat, servedRoutesText } from "./proxy-routes.ts";
import { sendProviderError, type WireFormat } from "./send-provider-error.ts";
import { admitRequest } from "./steps/admit-request.ts";
import { applyRequestPolicy } from "./steps/apply-request-policy.ts";
import { authenticateRequest } from "./steps/authenticate-request.ts";
import { checkRunActive } from "./steps/check-run-active.ts";
import { chooseUpstreamChain } from "./steps/choose-upstream-chain.ts";
import { forwardRequest } from "./steps/forward-request.ts";
import { loadRunAccount } from "./steps/load-run-account.ts";
import { parseRequestBody, type ParsedRequest } from "./steps/parse-request-body.ts";
import { passResponse } from "./steps/pass-response.ts";
import { readRequestBody } from "./steps/read-request-body.ts";
import { requestStreamUsage } from "./steps/request-stream-usage.ts";
import { reserveBudget } from "./steps/reserve-budget.ts";
import { sendRefusal } from "./steps/send-refusal.ts";
import { capabilitiesPath, serveCapabilityRequests } from "./steps/serve-capability-requests.ts";
import { settleAndRecord } from "./steps/settle-and-record.ts";
import { watchClientAbort } from "./steps/watch-client-abort.ts";

export type { ProxyBudgetPolicy, ProxyDeps, ProxyTimeouts } from "./proxy-deps.ts";

export type ProxyHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** Resolves when every call finished so far is committed to llm_calls. The runner awaits it before a run ends. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flush, then release upstream connections. */
  close(timeoutMs?: number): Promise<void>;
  readonly metricsRegistry: Registry;
  readonly recorder: CallRecorder;
  /** What the node:http server in front of this handler must enforce (serve-proxy.ts). */
  readonly serverLimits: ProxyServerLimits;
};

export interface ProxyServerLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  /** Whole request (headers and body); a backstop behind the handler's own body timeouts. */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Count a connection the server ended itself (airlock_llm_proxy_connection_events_total). */
  countConnectionEvent(event: string): void;
}

/**
 * The metered LLM proxy as a plain node:http handler (DESIGN §5). Each request goes
 * through the steps in runner/proxy/steps/, in the order `handleRequest` lists them.
 * `flush()` commits queued llm_calls rows.
 */
export function createProxyHandler(deps: ProxyDeps): ProxyHandler {
  const ctx = createProxyContext(deps);
  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    handleRequest(ctx, req, res).catch((error: unknown) => {
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
    flush: { value: (timeoutMs?: number) => ctx.recorder.flush(timeoutMs) },
    close: {
      value: async (timeoutMs?: number) => {
        try {
          await ctx.recorder.close(timeoutMs);
        } finally {
          // Kept on disk when a call is still unsettled: recovered once this process is gone.
          ctx.journal?.close();
          if (ctx.ownsDispatcher) await ctx.dispatcher.close();
        }
      },
    },
    metricsRegistry: { value: ctx.registry },
    recorder: { value: ctx.recorder },
    serverLimits: {
      value: {
        maxConnections: ctx.maxConnections,
        headersTimeoutMs: ctx.timeouts.headersMs,
        requestTimeoutMs: ctx.timeouts.headersMs + ctx.timeouts.bodyMs + 5_000,
        keepAliveTimeoutMs: ctx.timeouts.keepAliveMs,
        countConnectionEvent: (event: string) => ctx.metrics.connectionEvents.inc({ event }),
      } satisfies ProxyServerLimits,
    },
  });
  return handler;
}

async function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const startedPerf = performance.now();
  const startedAt = new Date(ctx.now());
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const query = queryAt === -1 ? "" : url.slice(queryAt);
  const method = req.method ?? "";
  // Capability requests (issue 10) are Airlock's own route: answered here, never forwarded.
  if (path === capabilitiesPath) return serveCapabilityRequests(ctx, req, res, method);
  // Claude Code's connectivity probe (issue 12), when its nonessential traffic is not
  // switched off: answered here, empty, without a token or the database; never forwarded.
  if (path === "/api/hello" && (method === "HEAD" || method === "GET")) {
    req.resume();
    res.writeHead(200, { "content-length": "0" });
    res.end();
    return;
  }
  const route = findProxyRoute(method, path);
  if (!route) {
    sendRefusal(ctx, req, res, guessWireFormat(req, path), {
      status: 404,
      kind: "not_found",
      reason: "not_found",
      message: `Airlock's proxy has no route ${method} ${path}; it serves ${servedRoutesText}`,
    });
    return;
  }
  const format = route.format;

  // 1. Authenticate: the run token.
  const auth = authenticateRequest(ctx, req);
  if (!auth.ok) return sendRefusal(ctx, req, res, format, auth.refusal);

  // 2. Load the run's account. From here on every refusal is recorded against the run.
  const loaded = await loadRunAccount(ctx, auth.runId, auth.attempt);
  if (!loaded.ok) return sendRefusal(ctx, req, res, format, loaded.refusal);
  const account = loaded.account;
  const call = startCallRecord({ account, route, path, token: auth.token, startedAt, startedPerf });
  const refuseRecorded = (refusal: ProxyRefusal) => {
    sendRefusal(ctx, req, res, format, refusal);
    call.status = refusal.status;
    call.error = `${refusal.kind}: ${refusal.message}`;
    call.refusal = refusal.kind;
    settleAndRecord(ctx, call);
  };
  const active = checkRunActive(account);
  if (!active.ok) return refuseRecorded(active.refusal);

  // 3. Read the body within limits: the run's request slot and body bytes are claimed
  //    before a byte is read, and a stalled upload times out.
  const admitted = admitRequest(ctx, req, account, route.hasBody);
  if (!admitted.ok) return refuseRecorded(admitted.refusal);
  call.admission = admitted.ticket;
  // settleAndRecord releases it; this also frees it if a step throws unexpectedly.
  res.once("close", () => ctx.admission.release(admitted.ticket));
  let body: Buffer | undefined;
  let parsed: ParsedRequest | undefined;
  if (route.hasBody) {
    const read = await readRequestBody(ctx, req, call, admitted.ticket);
    if (read.kind === "refused") return refuseRecorded(read.refusal);
    if (read.kind === "client_aborted") return settleAndRecord(ctx, call);
    body = read.body;
    call.requestBody = clipText(body.toString("utf8"), ctx.auditLimit);
    const parse = parseRequestBody(body, call.requestBody);
    if (!parse.ok) return refuseRecorded(parse.refusal);
    parsed = parse.request;
    call.model = parsed.model;
    call.stream = parsed.stream;
  } else {
    req.resume();
  }

  // 4. Apply the request policy: what may leave the sandbox, and in what form.
  const policy = applyRequestPolicy(ctx, {
    route,
    path,
    query,
    headers: req.headers,
    request: parsed,
    account,
  });
  if (!policy.ok) return refuseRecorded(policy.refusal);
  parsed = policy.request;
  const usage = requestStreamUsage(route, parsed);

  // 5. Choose the upstream chain.
  const upstreams = chooseUpstreamChain(ctx, format, call.model);
  if (!upstreams.ok) return refuseRecorded(upstreams.refusal);
  call.provider = upstreams.chain[0]!.name;

  // 6. Cap the output, reserve its bound and a concurrency slot.
  const reserved = reserveBudget(
    ctx,
    account,
    route,
    { bytes: body?.length ?? 0, text: call.requestBody ?? "" },
    parsed,
  );
  if (!reserved.ok) return refuseRecorded(reserved.refusal);
  call.reservation = reserved.reservation;
  parsed = reserved.request;
  const forwardBody =
    (policy.rewritten || usage.rewritten || reserved.rewritten) && parsed
      ? Buffer.from(JSON.stringify(parsed.json))
      : body;

  // 7. Journal the call (its key goes into its row), then forward, with retries and fallback.
  call.callKey = ctx.journal?.open({
    runId: account.runId,
    attempt: account.attempt,
    endpoint: path,
    model: call.model ?? null,
    provider: call.provider,
    tokens: reserved.reservation.tokens,
    units: reserved.reservation.units,
    at: call.startedAt.toISOString(),
  });
  const abort = watchClientAbort(res, call);
  const forwarded = await forwardRequest(
    ctx,
    req,
    call,
    { chain: upstreams.chain, path, query, body: forwardBody },
    abort.signal,
  );
  if (forwarded.kind === "failed")
    sendProviderError(res, format, forwarded.status, "upstream", forwarded.message);

  // 8. Pass the JSON or SSE answer through while metering it.
  if (forwarded.kind === "response") {
    await passResponse(ctx, res, call, forwarded.response, { stripUsage: usage.stripUsage, abort });
  }

  // 9. Settle the budget and record the call.
  settleAndRecord(ctx, call);
}
