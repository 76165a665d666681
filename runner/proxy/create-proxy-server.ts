import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ProxyHandler } from "./create-proxy-handler.ts";

const timeoutBody = JSON.stringify({
  error: {
    message: "the request did not arrive in time; the Airlock proxy ended the connection, send it again",
    type: "invalid_request_error",
    param: null,
    code: "request_timeout",
  },
});

/**
 * The node:http server in front of a proxy handler, with the host-protection limits of
 * issue 9 §4: a client has bounded time to send headers and body, idle connections are
 * closed, and connections past `maxConnections` are closed at once (never queued). A
 * request that is slow to arrive holds no more than its socket: the handler claims the
 * run's body allowance before reading. LLM responses may still stream for minutes: the
 * request timeout stops counting once the request has arrived.
 */
export function createProxyServer(
  handler: ProxyHandler,
  listener: (req: IncomingMessage, res: ServerResponse) => void = handler,
): Server {
  const limits = handler.serverLimits;
  // Responses in progress per connection: a timeout must not write raw bytes into a started answer.
  const responding = new WeakMap<Socket, ServerResponse>();
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks both timeouts on this interval (30 s by default): a stall is seen within a second.
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      responding.set(req.socket, res);
      listener(req, res);
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => limits.countConnectionEvent("dropped"));
  server.on("clientError", (error: Error & { code?: string }, socket: Duplex) => {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    limits.countConnectionEvent(timedOut ? "request_timeout" : "bad_request");
    const started = responding.get(socket as Socket)?.headersSent === true;
    if (started) {
      socket.destroy();
      return;
    }
    socket.end(
      timedOut
        ? `HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(timeoutBody)}\r\n\r\n${timeoutBody}`
        : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
  });
  return server;
}
