/**
 * The benchmark's "bare node" path: the least any proxy written for Node must do per call,
 * on the same node:http server and undici client Airlock uses, and nothing else. It reads
 * the request body and parses it (a policy point must read what it checks), forwards it
 * over keep-alive connections, and answers with the upstream's body: whole and parsed for
 * JSON (metering must read the usage), chunk by chunk for SSE. No token, policy, budget,
 * journal, metrics or audit rows.
 *
 * It is the floor under Airlock's figures on this machine (issue 9 §8): what the runtime
 * costs before Airlock's own work. Usage: node bench/start-bare-node-forwarder.ts <upstream
 * origin>; prints one JSON line `{"url": …}` when listening; exits when its stdin closes or
 * on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";

const upstreamOrigin = process.argv[2];
if (!upstreamOrigin) {
  process.stderr.write("usage: node bench/start-bare-node-forwarder.ts <upstream origin>\n");
  process.exit(2);
}
const upstream = new Pool(upstreamOrigin, { connections: 256, pipelining: 1 });

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  JSON.parse(body.toString("utf8"));
  const response = await upstream.request({
    path: req.url ?? "/",
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: req.headers.authorization ?? "",
      "accept-encoding": "identity",
    },
    body,
  });
  const contentType = String(response.headers["content-type"] ?? "");
  if (contentType.startsWith("text/event-stream")) {
    res.writeHead(response.statusCode, { "content-type": contentType, "cache-control": "no-cache" });
    for await (const chunk of response.body) res.write(chunk);
    res.end();
    return;
  }
  const text = await response.body.text();
  JSON.parse(text);
  const out = Buffer.from(text);
  res.writeHead(response.statusCode, { "content-type": contentType, "content-length": String(out.length) });
  res.end(out);
}

const server = createServer((req, res) => {
  forward(req, res).catch((error: unknown) => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end(`bare forwarder: ${(error as Error).message}`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections();
  void upstream.close().finally(() => process.exit(0));
}
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
