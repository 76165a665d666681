import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { EgressContext } from "./egress-context.ts";
import type { EgressOutcome } from "./egress-connection-record.ts";
import { isSameAuthority, parseConnectTarget } from "./parse-egress-target.ts";
import { startEgressRecord } from "./start-egress-record.ts";
import { writeRawResponse } from "./write-raw-response.ts";

/**
 * `CONNECT host:port`: check the target (checkEgressTarget), connect to the checked
 * address, answer 200 and splice the two sockets until either side ends, the tunnel
 * idles past the limit, or the run's proxy closes. The proxy never sees inside the TLS.
 */
export async function openTunnel(
  ctx: EgressContext,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
): Promise<void> {
  const raw = (req.url ?? "").slice(0, 300);
  client.on("error", () => client.destroy());
  const record = startEgressRecord(ctx, "connect", `CONNECT ${raw}`, (status, text) =>
    writeRawResponse(client, status, text),
  );

  const parsed = parseConnectTarget(raw);
  if (!parsed.ok) return record.refuse(parsed.status, parsed.reason, parsed.host ?? raw, null, null, false);
  const { target } = parsed;
  const hostHeader = req.headers.host;
  if (hostHeader !== undefined && !isSameAuthority(hostHeader, target, target.port)) {
    return record.refuse(
      400,
      "the Host header names another place than the CONNECT target",
      target.host,
      target.port,
      null,
      false,
    );
  }
  const address = await record.checkTarget(target);
  if (address === undefined) return;
  if (client.destroyed)
    return record.finishClientLeft(target, address, "the client left before the tunnel opened");

  const upstream = connect({ host: address, port: target.port });
  ctx.upstreams.add(upstream);
  let outcome: EgressOutcome = "closed";
  let reason: string | null = null;
  let status = 200;
  let connected = false;
  const fail = (next: EgressOutcome, why: string) => {
    if (outcome === "closed") {
      outcome = ctx.isClosing() ? "proxy_closed" : next;
      reason = ctx.isClosing() ? "the run ended" : why;
    }
  };
  /** Answer the client with an error before the tunnel opened (after it, the socket is the tunnel's). */
  const answerFailure = (code: 502 | 504, why: string) => {
    status = code;
    writeRawResponse(
      client,
      code,
      `Airlock egress proxy could not reach ${target.host}:${target.port} (${address}): ${why}.\n`,
    );
  };
  const connectTimer = setTimeout(() => {
    const why = `connecting took longer than ${ctx.limits.connectTimeoutMs} ms`;
    fail("upstream_error", `${address}:${target.port}: ${why}`);
    if (!client.destroyed) answerFailure(504, why);
    upstream.destroy();
  }, ctx.limits.connectTimeoutMs);

  upstream.once("connect", () => {
    clearTimeout(connectTimer);
    connected = true;
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    // Socket timeouts count reads and writes, so one idle tunnel trips both.
    for (const socket of [client, upstream]) {
      socket.setTimeout(ctx.limits.idleTimeoutMs, () => {
        fail("idle_timeout", `no bytes either way for ${ctx.limits.idleTimeoutMs} ms`);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  upstream.on("error", (error: NodeJS.ErrnoException) => {
    fail("upstream_error", `${address}:${target.port}: ${error.code ?? error.message}`);
    if (!connected && !client.destroyed && status === 200) answerFailure(502, error.code ?? error.message);
    else if (connected) client.destroy();
  });
  client.on("close", () => {
    if (ctx.isClosing()) fail("proxy_closed", "the run ended");
    // Nothing more can flow to a client that is gone, so its upstream goes too.
    upstream.destroy();
  });
  upstream.on("close", () => {
    clearTimeout(connectTimer);
    ctx.upstreams.delete(upstream);
    // Not opened and not answered (the proxy closed, say): nothing to tell the client.
    if (!connected && !client.destroyed && status === 200) client.destroy();
    if (connected) client.end();
    const finish = () =>
      record.finish({
        domain: target.host,
        port: target.port,
        address,
        bytesOut: upstream.bytesWritten,
        bytesIn: upstream.bytesRead,
        outcome,
        reason,
        status,
      });
    if (client.destroyed || client.closed) finish();
    else client.once("close", finish);
  });
}
