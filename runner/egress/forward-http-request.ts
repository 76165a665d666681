import { request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { dropHopByHopHeaders } from "./drop-hop-by-hop-headers.ts";
import type { EgressContext } from "./egress-context.ts";
import type { EgressOutcome } from "./egress-connection-record.ts";
import { parseHttpTarget } from "./parse-egress-target.ts";
import { startEgressRecord } from "./start-egress-record.ts";

/**
 * Plain HTTP forwarding of an absolute-form request (`GET http://host/path`), under the
 * same checks as a tunnel: a granted name on an open port, resolved on the host, every
 * address checked, and the request sent to the checked address with `Host` set from the
 * URL. One upstream connection per request, so no connection is shared between names.
 */
export async function forwardHttpRequest(
  ctx: EgressContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const raw = (req.url ?? "").slice(0, 300);
  const record = startEgressRecord(ctx, "http", `${req.method ?? "?"} ${raw}`, (status, text) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", connection: "close" });
    res.end(text);
    req.resume();
  });

  const parsed = parseHttpTarget(req.url ?? "", req.headers.host);
  if (!parsed.ok) return record.refuse(parsed.status, parsed.reason, parsed.host ?? raw, null, null, false);
  const { target } = parsed;
  const address = await record.checkTarget(target);
  if (address === undefined) return;
  if (req.socket.destroyed)
    return record.finishClientLeft(target, address, "the client left before the request was sent");
  const headers = dropHopByHopHeaders(req.headers);
  headers.host = target.port === 80 ? target.host : `${target.host}:${target.port}`;
  const upstreamReq = request({
    host: address,
    port: target.port,
    method: req.method,
    path: parsed.path ?? "/",
    headers,
    agent: false,
    setHost: false,
  });
  let socket: Socket | undefined;
  let outcome: EgressOutcome = "closed";
  let reason: string | null = null;
  let status = 0;
  const fail = (next: EgressOutcome, why: string) => {
    if (outcome !== "closed") return;
    outcome = ctx.isClosing() ? "proxy_closed" : next;
    reason = ctx.isClosing() ? "the run ended" : why;
  };
  const connectTimer = setTimeout(() => {
    const error = new Error(`connecting took longer than ${ctx.limits.connectTimeoutMs} ms`);
    upstreamReq.destroy(Object.assign(error, { code: "ETIMEDOUT" }));
  }, ctx.limits.connectTimeoutMs);
  upstreamReq.on("socket", (s: Socket) => {
    socket = s;
    ctx.upstreams.add(s);
    s.once("connect", () => clearTimeout(connectTimer));
    s.once("close", () => ctx.upstreams.delete(s));
  });
  upstreamReq.setTimeout(ctx.limits.idleTimeoutMs, () => {
    fail("idle_timeout", `no bytes either way for ${ctx.limits.idleTimeoutMs} ms`);
    upstreamReq.destroy(Object.assign(new Error("idle"), { code: "ETIMEDOUT" }));
  });
  upstreamReq.on("response", (upstreamRes) => {
    status = upstreamRes.statusCode ?? 502;
    res.writeHead(status, upstreamRes.statusMessage, dropHopByHopHeaders(upstreamRes.headers));
    upstreamRes.pipe(res);
    upstreamRes.on("error", () => res.destroy());
  });
  upstreamReq.on("error", (error: NodeJS.ErrnoException) => {
    clearTimeout(connectTimer);
    fail("upstream_error", `${address}:${target.port}: ${error.code ?? error.message}`);
    if (!res.headersSent) {
      status = error.code === "ETIMEDOUT" ? 504 : 502;
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", connection: "close" });
      res.end(
        `Airlock egress proxy could not reach ${target.host}:${target.port} (${address}): ${error.code ?? error.message}.\n`,
      );
    } else {
      res.destroy();
    }
  });
  req.pipe(upstreamReq);
  res.on("close", () => {
    clearTimeout(connectTimer);
    if (!res.writableFinished) {
      if (ctx.isClosing()) fail("proxy_closed", "the run ended");
      else reason ??= "the client left before the response ended";
    }
    upstreamReq.destroy();
    record.finish({
      domain: target.host,
      port: target.port,
      address,
      bytesOut: socket?.bytesWritten ?? 0,
      bytesIn: socket?.bytesRead ?? 0,
      outcome,
      reason,
      status,
    });
  });
}
