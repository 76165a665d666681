import { rm } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import type { Logger } from "../../core/logger.ts";
import { listenServer } from "../net/listen-server.ts";
import { createBlockedAttempts, type BlockedAttempt } from "./blocked-attempts.ts";
import type { EgressContext } from "./egress-context.ts";
import type { EgressConnectionRecord } from "./egress-connection-record.ts";
import { egressLimitsSchema, type EgressLimitsInput } from "./egress-limits.ts";
import { egressRefusalText } from "./egress-refusal-text.ts";
import { forwardHttpRequest } from "./forward-http-request.ts";
import { openTunnel } from "./open-tunnel.ts";
import { resolveHost, type ResolveHost } from "./resolve-host.ts";
import { writeRawResponse } from "./write-raw-response.ts";

export type ServeEgressProxyOptions = ({ socketPath: string } | { port: number; host?: string }) & {
  runId: string;
  /**
   * The run's `network:` grants (exact DNS names; see isGrantedDomain), read at each
   * request. It may ask the database: a failure refuses that request (503), nothing more.
   */
  allow: () => ReadonlySet<string> | Promise<ReadonlySet<string>>;
  /** Host-side resolution; resolveHost (the system resolver) unless a test injects its own. */
  resolve?: ResolveHost;
  logger: Logger;
  /**
   * Called once per connection when it ends, refusals included (outcome "refused"); the
   * proxy waits for a returned promise on close() and logs its failure. Connections
   * refused for being past `maxConnections` are only counted in blocked(): the bound is
   * there to shed load cheaply.
   */
  onConnection?: (record: EgressConnectionRecord) => void | Promise<void>;
  limits?: EgressLimitsInput;
  /**
   * TEST ONLY. Addresses this accepts skip the address classifier, so a test can reach
   * its own servers on loopback. Production wiring never sets it: with it unset,
   * loopback, private, link-local and metadata addresses are always refused.
   */
  allowAddressForTests?: (address: string) => boolean;
};

export interface ServedEgressProxy {
  /** The TCP port, when served on one. */
  port: number | undefined;
  socketPath: string | undefined;
  /** Every distinct refusal so far (domain, port, reason, count). */
  blocked(): BlockedAttempt[];
  /** Client connections open now (tunnels included). */
  openConnections(): number;
  /** Stop accepting, close every tunnel and forwarded request, wait for the records. */
  close(): Promise<void>;
}

/**
 * The egress proxy of one run (issue 10 §7): HTTP CONNECT and plain HTTP forwarding to
 * the run's granted names only, resolved on the host, private and metadata addresses
 * refused, every connection recorded. It knows no database: the caller turns records
 * into audit events (core/audit/append-egress-audit-events.ts).
 *
 * A plain TCP server accepts first so that the connection bound is applied before any
 * HTTP parsing; connections within it are handed to an HTTP server.
 */
export async function serveEgressProxy(options: ServeEgressProxyOptions): Promise<ServedEgressProxy> {
  const limits = egressLimitsSchema.parse(options.limits ?? {});
  const logger = options.logger.child({ runId: options.runId, component: "egress" });
  if (options.allowAddressForTests) {
    logger.warn("egress proxy started with a test-only address override; never in production");
  }
  const blocked = createBlockedAttempts();
  const clients = new Set<Socket>();
  const pending = new Set<Promise<void>>();
  let closing = false;

  const finish = (record: EgressConnectionRecord) => {
    if (record.outcome === "refused") {
      const first = blocked.add({
        domain: record.domain,
        port: record.port,
        reason: record.reason ?? "refused",
      });
      if (first)
        logger.warn({ domain: record.domain, port: record.port, reason: record.reason }, "egress refused");
    }
    logger.info(
      {
        kind: record.kind,
        domain: record.domain,
        port: record.port,
        address: record.address,
        bytesOut: record.bytesOut,
        bytesIn: record.bytesIn,
        durationMs: record.durationMs,
        outcome: record.outcome,
        status: record.status,
      },
      "egress connection",
    );
    if (!options.onConnection) return;
    const settled = Promise.resolve()
      .then(() => options.onConnection?.(record))
      .catch((error: unknown) =>
        logger.error({ err: error, domain: record.domain }, "egress onConnection failed"),
      )
      .finally(() => pending.delete(settled));
    pending.add(settled);
  };

  const ctx: EgressContext = {
    runId: options.runId,
    limits,
    allow: options.allow,
    resolve: options.resolve ?? resolveHost,
    allowAddressForTests: options.allowAddressForTests,
    logger,
    blocked,
    upstreams: new Set(),
    isClosing: () => closing,
    finish,
  };

  const http = createHttpServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  });
  http.setTimeout(limits.idleTimeoutMs);
  // This HTTP server never listens (the TCP server hands it connections), and node starts
  // the checker that enforces headersTimeout on "listening"; without it a client could
  // hold a slot forever by never finishing its request head.
  http.emit("listening");
  http.on("connect", (req, socket: Socket, head: Buffer) => void openTunnel(ctx, req, socket, head));
  /** Answer and record a request refused from its head alone, before any target was checked. */
  const refuseHead = (socket: Socket, request: string, domain: string, reason: string, status: number) => {
    writeRawResponse(socket, status, egressRefusalText(request, reason, undefined));
    finish({
      runId: options.runId,
      kind: "http",
      domain,
      port: null,
      address: null,
      bytesOut: 0,
      bytesIn: 0,
      durationMs: 0,
      outcome: "refused",
      reason,
      status,
      startedAt: new Date(),
    });
  };
  http.on("request", (req, res) => void forwardHttpRequest(ctx, req, res));
  http.on("upgrade", (req, socket: Socket) => {
    const reason =
      "protocol upgrades over plain HTTP are not forwarded (use wss:// or https://, which go through CONNECT)";
    const raw = (req.url ?? "").slice(0, 300);
    refuseHead(socket, `${req.method ?? "?"} ${raw}`, raw, reason, 400);
  });
  http.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const status =
      error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const reason =
      status === 431
        ? `the request line and headers are longer than ${limits.maxHeaderBytes} bytes`
        : status === 408
          ? `the request head did not arrive within ${limits.headersTimeoutMs} ms`
          : `a malformed request (${error.code ?? "parse error"})`;
    refuseHead(socket, "a request", "(malformed request)", reason, status);
  });

  // Half-open like node's own HTTP server: a tunnel client that has sent all it will
  // (TLS close_notify, a request body) still gets the rest of the answer.
  const server = createNetServer({ allowHalfOpen: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    if (clients.size >= limits.maxConnections) {
      const reason = `this run already has ${limits.maxConnections} connections open through the egress proxy`;
      if (blocked.add({ domain: "(connection limit)", port: null, reason }))
        logger.warn({ reason }, "egress refused");
      writeRawResponse(socket, 503, egressRefusalText("a connection", reason, undefined), 1_000);
      return;
    }
    clients.add(socket);
    socket.once("close", () => clients.delete(socket));
    http.emit("connection", socket);
  });

  const socketPath = "socketPath" in options ? options.socketPath : undefined;
  if (socketPath !== undefined) {
    await listenServer(server, { path: socketPath });
  } else if ("port" in options) {
    await listenServer(server, { port: options.port, host: options.host ?? "127.0.0.1" });
  }

  let closed: Promise<void> | undefined;
  return {
    port: socketPath === undefined ? (server.address() as AddressInfo).port : undefined,
    socketPath,
    blocked: () => blocked.list(),
    openConnections: () => clients.size,
    close: () => {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const upstream of ctx.upstreams) upstream.destroy();
        for (const client of clients) client.destroy();
        // It never listened, so close() reports ERR_SERVER_NOT_RUNNING; it still stops the checker.
        http.close(() => {});
        await stopped;
        while (pending.size > 0) await Promise.allSettled([...pending]);
        if (socketPath !== undefined) await rm(socketPath, { force: true });
      })();
      return closed;
    },
  };
}
