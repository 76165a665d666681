import { rm } from "node:fs/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { listenServer } from "../net/listen-server.ts";
import { createProxyHandler, type ProxyDeps, type ProxyHandler } from "./create-proxy-handler.ts";
import { createProxyServer } from "./create-proxy-server.ts";

export interface ServedProxy {
  handler: ProxyHandler;
  /** Resolves when every call finished so far is committed (see ProxyHandler.flush). */
  flush(timeoutMs?: number): Promise<void>;
  /** Stop accepting, end open connections, flush rows, release upstream connections. */
  close(): Promise<void>;
}

function closeServer(server: Server, handler: ProxyHandler): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Give in-flight calls a moment to end on their own before cutting them.
      const timer = setTimeout(() => server.closeAllConnections(), 2_000);
      await closed;
      clearTimeout(timer);
      await handler.close();
    })();
    return closing;
  };
}

/** A handler whose call recorder can take rows: no call is served before it could be recorded. */
async function createReadyHandler(deps: ProxyDeps): Promise<ProxyHandler> {
  const handler = createProxyHandler(deps);
  try {
    await handler.recorder.ready();
  } catch (error) {
    await handler.close(1_000).catch(() => undefined);
    throw error;
  }
  return handler;
}

/**
 * Serve the proxy for one run on a unix socket (the runner mounts its directory at
 * /run/airlock). Only tokens naming `runId` are accepted. The socket is mode 0666 so the
 * sandbox's non-root user (uid 1001) can connect; the directory should be per run.
 */
export async function serveProxyOnSocket(
  options: { socketPath: string; runId: string } & Omit<ProxyDeps, "runId">,
): Promise<ServedProxy> {
  const { socketPath, ...deps } = options;
  const handler = await createReadyHandler(deps);
  const server = createProxyServer(handler);
  await listenServer(server, { path: socketPath });
  const close = closeServer(server, handler);
  return {
    handler,
    flush: (timeoutMs) => handler.flush(timeoutMs),
    close: async () => {
      await close();
      await rm(socketPath, { force: true });
    },
  };
}

/**
 * Serve the proxy on TCP (`airlock proxy`, shared-proxy mode, benchmarks), with
 * `GET /metrics` (Prometheus) and `GET /healthz` beside the provider routes.
 */
export async function serveProxyOnPort(
  options: { port: number; host?: string } & ProxyDeps,
): Promise<ServedProxy & { port: number; host: string }> {
  const { port, host = "127.0.0.1", ...deps } = options;
  const handler = await createReadyHandler(deps);
  const registry = handler.metricsRegistry;
  const server = createProxyServer(handler, (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "GET" && req.url === "/metrics") {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    if (req.method === "GET" && req.url === "/healthz") {
      const healthy = handler.recorder.healthy;
      res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ database: healthy ? "ok" : "unreachable", queuedRows: handler.recorder.queued }),
      );
      return;
    }
    handler(req, res);
  });
  await listenServer(server, { port, host });
  const address = server.address() as AddressInfo;
  return {
    handler,
    port: address.port,
    host,
    flush: (timeoutMs) => handler.flush(timeoutMs),
    close: closeServer(server, handler),
  };
}
