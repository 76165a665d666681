import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request, createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  connect,
  createServer as createNetServer,
  type AddressInfo,
  type Server,
  type Socket,
} from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate for `names`, made with the host's openssl (no network). */
export function makeCertificate(names: string[]): {
  key: string;
  cert: string;
  certPath: string;
  dispose(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), "airlock-egress-cert-"));
  const keyPath = join(dir, "key.pem");
  const certPath = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      `/CN=${names[0]}`,
      "-addext",
      `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
    ],
    { stdio: "ignore" },
  );
  return {
    key: readFileSync(keyPath, "utf8"),
    cert: readFileSync(certPath, "utf8"),
    certPath,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Listening {
  port: number;
  /** Connections the server accepted (to prove a refused target was never reached). */
  accepted(): number;
  close(): Promise<void>;
}

function track(server: Server, port: number, sockets: Set<Socket>, counter: { n: number }): Listening {
  return {
    port,
    accepted: () => counter.n,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function countSockets(server: Server): { sockets: Set<Socket>; counter: { n: number } } {
  const sockets = new Set<Socket>();
  const counter = { n: 0 };
  server.on("connection", (s: Socket) => {
    counter.n += 1;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return { sockets, counter };
}

/**
 * HTTPS on loopback answering `hello over tls <path>`. With `close`, each answer ends its
 * connection (a client's keep-alive would otherwise hold the tunnel open until it exits).
 */
export async function startHttpsServer(
  tls: { key: string; cert: string },
  options: { close?: boolean } = {},
): Promise<Listening> {
  const server = createHttpsServer(tls, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain", ...(options.close ? { connection: "close" } : {}) });
    res.end(`hello over tls ${req.url}`);
  });
  const { sockets, counter } = countSockets(server);
  return track(server, await listenOnLoopback(server), sockets, counter);
}

/** Plain HTTP on loopback that echoes what it got, and counts raw bytes per connection. */
export async function startHttpServer(): Promise<
  Listening & { seen: IncomingHttpHeaders[]; rawBytes: () => { read: number; written: number } }
> {
  const seen: IncomingHttpHeaders[] = [];
  const bytes = { read: 0, written: 0 };
  const server = createHttpServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain", "x-upstream": "yes", connection: "close" });
      res.end(`plain hello ${req.method} ${req.url}`);
    });
  });
  const { sockets, counter } = countSockets(server);
  server.on("connection", (s: Socket) =>
    s.on("close", () => {
      bytes.read += s.bytesRead;
      bytes.written += s.bytesWritten;
    }),
  );
  const listening = track(server, await listenOnLoopback(server), sockets, counter);
  return { ...listening, seen, rawBytes: () => ({ ...bytes }) };
}

/**
 * A raw TCP server: reads exactly `expect` bytes, then answers `reply` bytes and ends.
 * With `expect` Infinity it holds the connection open and echoes nothing (a long tunnel).
 */
export async function startSinkServer(expect: number, reply: number): Promise<Listening> {
  const server = createNetServer((socket) => {
    socket.on("error", () => socket.destroy());
    let got = 0;
    socket.on("data", (chunk: Buffer) => {
      got += chunk.length;
      if (got === expect) socket.end(Buffer.alloc(reply, 0x61));
    });
  });
  const { sockets, counter } = countSockets(server);
  return track(server, await listenOnLoopback(server), sockets, counter);
}

export type ProxyTarget = { port: number } | { socketPath: string };

/** `CONNECT authority` through the proxy by hand; resolves with the status and the raw socket. */
export function connectThrough(
  proxy: ProxyTarget,
  authority: string,
  headers: Record<string, string> = { host: authority },
): Promise<{ status: number; socket: Socket; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({
      ...("port" in proxy ? { host: "127.0.0.1", port: proxy.port } : { socketPath: proxy.socketPath }),
      method: "CONNECT",
      path: authority,
      headers,
      agent: false,
      setHost: false,
    });
    req.once("connect", (res, socket: Socket, head: Buffer) =>
      resolve({ status: res.statusCode ?? 0, socket, head }),
    );
    req.once("response", (res) => {
      // Node reports some non-2xx answers to CONNECT as a plain response.
      resolve({ status: res.statusCode ?? 0, socket: res.socket, head: Buffer.alloc(0) });
    });
    req.once("error", reject);
    req.end();
  });
}

/** Everything a socket still delivers until it ends, after `head`. */
export function readToEnd(socket: Socket, head: Buffer = Buffer.alloc(0)): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [head];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.once("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.once("error", reject);
  });
}

/** Send raw bytes to the proxy and read its whole answer (for malformed requests). */
export function sendRaw(proxyPort: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(proxyPort, "127.0.0.1");
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.once("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error),
    );
    socket.write(bytes);
  });
}
