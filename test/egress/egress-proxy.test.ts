import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request } from "node:http";
import { connect as connectTls } from "node:tls";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import pino from "pino";
import { ProxyAgent, fetch } from "undici";
import type { EgressConnectionRecord } from "../../runner/egress/egress-connection-record.ts";
import type { EgressLimitsInput } from "../../runner/egress/egress-limits.ts";
import { serveEgressProxy, type ServedEgressProxy } from "../../runner/egress/serve-egress-proxy.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import {
  connectThrough,
  makeCertificate,
  readToEnd,
  sendRaw,
  startHttpServer,
  startHttpsServer,
  startSinkServer,
  type Listening,
} from "./egress-test-servers.ts";

const run = promisify(execFile);
const silent = pino({ level: "silent" });
const hasCurl = await run("curl", ["--version"]).then(
  () => true,
  () => false,
);

describe("the egress proxy, through real clients, to servers on loopback", () => {
  let certificate: ReturnType<typeof makeCertificate>;
  let https: Listening;
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  let sink: Listening;
  let hold: Listening;
  let deadPort: number;
  let proxy: ServedEgressProxy;
  const grants = new Set(["granted.test"]);
  const records: EgressConnectionRecord[] = [];
  const resolved: string[] = [];
  const sinkBytes = { out: 100_000, in: 54_321 };

  before(async () => {
    certificate = makeCertificate(["granted.test"]);
    https = await startHttpsServer(certificate);
    http = await startHttpServer();
    sink = await startSinkServer(sinkBytes.out, sinkBytes.in);
    hold = await startSinkServer(Infinity, 0);
    const dead = await startSinkServer(0, 0);
    deadPort = dead.port;
    await dead.close();
    proxy = await serveEgressProxy({
      port: 0,
      runId: "run-egress-1",
      allow: () => grants,
      // The test's servers are on loopback, so names resolve there and only the test opens loopback.
      resolve: async (host) => {
        resolved.push(host);
        return ["127.0.0.1"];
      },
      allowAddressForTests: (address) => address === "127.0.0.1",
      logger: silent,
      onConnection: (record) => {
        records.push(record);
      },
      limits: {
        connectPorts: [https.port, sink.port, hold.port, deadPort],
        httpPorts: [http.port, deadPort],
      },
    });
  });
  after(async () => {
    await proxy?.close();
    await Promise.all([https, http, sink, hold].map((s) => s?.close()));
    certificate?.dispose();
  });

  const recordFor = (predicate: (r: EgressConnectionRecord) => boolean, what: string) =>
    waitUntil(what, () => records.find(predicate));

  it("tunnels TLS to a granted name with undici's ProxyAgent, and records the connection", async () => {
    const dispatcher = new ProxyAgent({
      uri: `http://127.0.0.1:${proxy.port}`,
      requestTls: { ca: certificate.cert, servername: "granted.test" },
    });
    const response = await fetch(`https://granted.test:${https.port}/undici`, { dispatcher });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "hello over tls /undici");
    await dispatcher.close();
    const record = await recordFor(
      (r) => r.kind === "connect" && r.outcome === "closed",
      "the tunnel's record",
    );
    assert.equal(record.domain, "granted.test");
    assert.equal(record.port, https.port);
    assert.equal(record.address, "127.0.0.1");
    assert.equal(record.status, 200);
    assert.ok(record.bytesOut > 0 && record.bytesIn > 0, JSON.stringify(record));
  });

  it("tunnels a TLS handshake made by hand over a CONNECT from node's http client", async () => {
    const tunnel = await connectThrough({ port: proxy.port! }, `granted.test:${https.port}`);
    assert.equal(tunnel.status, 200);
    const tls = connectTls({ socket: tunnel.socket, servername: "granted.test", ca: certificate.cert });
    await new Promise<void>((resolve, reject) => tls.once("secureConnect", resolve).once("error", reject));
    assert.equal(tls.authorized, true);
    tls.write(`GET /by-hand HTTP/1.1\r\nhost: granted.test\r\nconnection: close\r\n\r\n`);
    const answer = await readToEnd(tls);
    assert.match(answer, /^HTTP\/1\.1 200/);
    assert.match(answer, /\r\n\r\n[\s\S]*hello over tls \/by-hand/);
  });

  it(
    "works for curl --proxy, both over CONNECT and plain HTTP",
    { skip: hasCurl ? undefined : "no curl on this host" },
    async () => {
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
      const proxyUrl = `http://127.0.0.1:${proxy.port}`;
      const tls = await run(
        "curl",
        [
          "-sS",
          "--max-time",
          "30",
          "--proxy",
          proxyUrl,
          "--cacert",
          certificate.certPath,
          `https://granted.test:${https.port}/curl`,
        ],
        { env },
      );
      assert.equal(tls.stdout, "hello over tls /curl");
      const plain = await run(
        "curl",
        ["-sS", "--max-time", "30", "--proxy", proxyUrl, `http://granted.test:${http.port}/curl-plain`],
        { env },
      );
      assert.equal(plain.stdout, "plain hello GET /curl-plain");
      const refused = await run(
        "curl",
        ["-sS", "--max-time", "30", "--proxy", proxyUrl, `https://denied.test:${https.port}/`],
        { env },
      ).then(
        () => assert.fail("curl reached a name that is not granted"),
        (error: { code: number; stderr: string }) => error,
      );
      assert.equal(refused.code, 56, refused.stderr);
      assert.match(refused.stderr, /403/);
    },
  );

  it("refuses a name that is not granted without resolving it, says how to ask, and collects it with a count", async () => {
    for (let i = 0; i < 2; i++) {
      const tunnel = await connectThrough({ port: proxy.port! }, `other.test:${https.port}`);
      assert.equal(tunnel.status, 403);
      const body = await readToEnd(tunnel.socket, tunnel.head);
      assert.match(body, /other\.test is not among this run's network grants/);
      assert.match(body, /airlock-request network:other\.test "<why the task needs it>"/);
    }
    assert.equal(resolved.includes("other.test"), false, "a name that is not granted must not reach DNS");
    const blocked = proxy.blocked().find((b) => b.domain === "other.test");
    assert.equal(blocked?.attempts, 2);
    assert.equal(blocked?.reason, "other.test is not among this run's network grants");
    const record = await recordFor((r) => r.domain === "other.test", "the refusal's record");
    assert.deepEqual(
      [record.outcome, record.status, record.address, record.bytesOut],
      ["refused", 403, null, 0],
    );
  });

  it("opens a name granted mid-run at its next request (grants are read per request)", async () => {
    grants.add("late.test");
    try {
      const tunnel = await connectThrough({ port: proxy.port! }, `late.test:${hold.port}`);
      assert.equal(tunnel.status, 200);
      tunnel.socket.destroy();
    } finally {
      grants.delete("late.test");
    }
  });

  it("refuses IP literals, bad ports, Host tricks and subdomains of a grant, and reaches nothing", async () => {
    const before = sink.accepted();
    const cases: [string, number, RegExp, Record<string, string>?][] = [
      [`127.0.0.1:${sink.port}`, 403, /is an IP address/],
      [`[::1]:${sink.port}`, 403, /is an IP address/],
      [`2130706433:${sink.port}`, 403, /is an IP address/],
      [`granted.test:22`, 403, /port 22 is not open for CONNECT/],
      [`granted.test:${http.port}`, 403, new RegExp(`port ${http.port} is not open for CONNECT`)],
      [`api.granted.test:${sink.port}`, 403, /api\.granted\.test is not among/],
      [
        `granted.test:${sink.port}`,
        400,
        /Host header names another place/,
        { host: `evil.test:${sink.port}` },
      ],
      [`user@granted.test:${sink.port}`, 400, /no userinfo/],
      [`granted.test`, 400, /needs host:port/],
    ];
    for (const [authority, status, reason, headers] of cases) {
      const tunnel = await connectThrough({ port: proxy.port! }, authority, headers ?? { host: authority });
      assert.equal(tunnel.status, status, authority);
      assert.match(await readToEnd(tunnel.socket, tunnel.head), reason, authority);
    }
    assert.equal(sink.accepted(), before, "no refused CONNECT may reach the server");
  });

  it("counts exactly the bytes sent and received through a tunnel", async () => {
    const tunnel = await connectThrough({ port: proxy.port! }, `granted.test:${sink.port}`);
    assert.equal(tunnel.status, 200);
    const answer = readToEnd(tunnel.socket, tunnel.head);
    tunnel.socket.write(Buffer.alloc(sinkBytes.out, 0x62));
    assert.equal((await answer).length, sinkBytes.in);
    tunnel.socket.end();
    const record = await recordFor(
      (r) => r.port === sink.port && r.outcome === "closed",
      "the sink tunnel's record",
    );
    assert.equal(record.bytesOut, sinkBytes.out);
    assert.equal(record.bytesIn, sinkBytes.in);
    assert.ok(record.durationMs >= 0);
  });

  it("forwards plain HTTP to a granted name with hop-by-hop headers dropped, and counts its bytes", async () => {
    const seenBefore = http.seen.length;
    const recordsBefore = records.length;
    const bytesBefore = http.rawBytes();
    const body = await new Promise<{
      status: number;
      text: string;
      upstream: string | undefined;
      connection: string | undefined;
    }>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: proxy.port,
        method: "POST",
        path: `http://granted.test:${http.port}/plain?x=1`,
        headers: {
          host: `granted.test:${http.port}`,
          "proxy-authorization": "Basic c2VjcmV0",
          connection: "keep-alive, x-drop-me",
          "x-drop-me": "1",
          "keep-alive": "timeout=5",
          "x-keep": "kept",
          "content-type": "text/plain",
        },
        agent: false,
      });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            upstream: res.headers["x-upstream"] as string,
            connection: res.headers.connection,
          }),
        );
      });
      req.on("error", reject);
      req.end("a body of twenty-six bytes");
    });
    assert.equal(body.status, 200);
    assert.equal(body.text, "plain hello POST /plain?x=1");
    assert.equal(body.upstream, "yes");
    const headers = http.seen[seenBefore];
    assert.ok(headers);
    assert.equal(headers.host, `granted.test:${http.port}`);
    assert.equal(headers["x-keep"], "kept");
    for (const dropped of ["proxy-authorization", "x-drop-me", "keep-alive"]) {
      assert.equal(headers[dropped], undefined, `${dropped} must not be forwarded`);
    }
    const record = await waitUntil("the plain request's record", () =>
      records.slice(recordsBefore).find((r) => r.kind === "http" && r.outcome === "closed"),
    );
    const upstream = await waitUntil("the upstream connection to close", () => {
      const now = http.rawBytes();
      return (
        now.read > bytesBefore.read && {
          read: now.read - bytesBefore.read,
          written: now.written - bytesBefore.written,
        }
      );
    });
    assert.equal(record.bytesOut, upstream.read);
    assert.equal(record.bytesIn, upstream.written);
    assert.equal(record.status, 200);
  });

  it("refuses plain HTTP to names not granted, to other ports, in origin form, with userinfo, and upgrades", async () => {
    const cases: [string, number, RegExp][] = [
      [
        `GET http://other.test:${http.port}/ HTTP/1.1\r\nhost: other.test:${http.port}\r\n\r\n`,
        403,
        /airlock-request network:other\.test/,
      ],
      [
        `GET http://granted.test:${sink.port}/ HTTP/1.1\r\nhost: granted.test:${sink.port}\r\n\r\n`,
        403,
        new RegExp(`port ${sink.port} is not open for plain HTTP`),
      ],
      [
        `GET http://127.0.0.1:${http.port}/ HTTP/1.1\r\nhost: 127.0.0.1:${http.port}\r\n\r\n`,
        403,
        /is an IP address/,
      ],
      [`GET / HTTP/1.1\r\nhost: granted.test\r\n\r\n`, 400, /absolute-form/],
      [
        `GET http://u:p@granted.test:${http.port}/ HTTP/1.1\r\nhost: granted.test:${http.port}\r\n\r\n`,
        400,
        /userinfo/,
      ],
      [`GET http://granted.test:${http.port}/ HTTP/1.1\r\nhost: other.test\r\n\r\n`, 400, /Host header/],
      [
        `GET http://granted.test:${http.port}/ HTTP/1.1\r\nhost: granted.test:${http.port}\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n`,
        400,
        /protocol upgrades/,
      ],
    ];
    const before = http.accepted();
    for (const [raw, status, reason] of cases) {
      const answer = await sendRaw(proxy.port!, raw);
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), raw);
      assert.match(answer, reason, raw);
    }
    assert.equal(http.accepted(), before, "no refused request may reach the server");
  });

  it("answers 502 when a granted name's server refuses the connection, and records upstream_error", async () => {
    const tunnel = await connectThrough({ port: proxy.port! }, `granted.test:${deadPort}`);
    assert.equal(tunnel.status, 502);
    assert.match(
      await readToEnd(tunnel.socket, tunnel.head),
      /could not reach granted\.test:\d+ \(127\.0\.0\.1\): ECONNREFUSED/,
    );
    const plain = await sendRaw(
      proxy.port!,
      `GET http://granted.test:${deadPort}/ HTTP/1.1\r\nhost: granted.test:${deadPort}\r\n\r\n`,
    );
    assert.match(plain, /^HTTP\/1\.1 502 [\s\S]*ECONNREFUSED/);
    const failed = await waitUntil("both failures recorded", () => {
      const found = records.filter((r) => r.port === deadPort && r.outcome === "upstream_error");
      return found.length === 2 && found;
    });
    assert.deepEqual(failed.map((r) => [r.kind, r.status, r.address]).sort(), [
      ["connect", 502, "127.0.0.1"],
      ["http", 502, "127.0.0.1"],
    ]);
  });

  it("answers malformed requests and absurdly long request lines with 400 and 431", async () => {
    assert.match(await sendRaw(proxy.port!, "GARBAGE\r\n\r\n"), /^HTTP\/1\.1 400 [\s\S]*malformed request/);
    const long = `GET http://granted.test/${"a".repeat(40_000)} HTTP/1.1\r\nhost: granted.test\r\n\r\n`;
    assert.match(await sendRaw(proxy.port!, long), /^HTTP\/1\.1 431 [\s\S]*longer than 16384 bytes/);
    const manyHeaders = `GET http://granted.test/ HTTP/1.1\r\n${"x-h: 1234567890\r\n".repeat(2_000)}\r\n`;
    assert.match(await sendRaw(proxy.port!, manyHeaders), /^HTTP\/1\.1 431 /);
  });
});

describe("the egress proxy without the test-only address override", () => {
  let proxy: ServedEgressProxy;
  let sink: Listening;
  const answers = new Map<string, string[]>([
    ["loopback.test", ["127.0.0.1"]],
    ["private.test", ["10.0.0.1"]],
    ["metadata.test", ["169.254.169.254"]],
    ["loopback6.test", ["::1"]],
    ["mapped.test", ["::ffff:127.0.0.1"]],
    ["aws6.test", ["fd00:ec2::254"]],
    ["mixed.test", ["93.184.215.14", "127.0.0.1"]],
    ["empty.test", []],
  ]);
  before(async () => {
    sink = await startSinkServer(Infinity, 0);
    proxy = await serveEgressProxy({
      port: 0,
      runId: "run-egress-2",
      allow: () => new Set(answers.keys()),
      resolve: async (host) => answers.get(host) ?? [],
      logger: silent,
      limits: { connectPorts: [sink.port], httpPorts: [sink.port] },
    });
  });
  after(async () => {
    await proxy?.close();
    await sink?.close();
  });

  const expected: [string, RegExp][] = [
    ["loopback.test", /resolves to 127\.0\.0\.1, which is loopback/],
    ["private.test", /resolves to 10\.0\.0\.1, which is a private network/],
    ["metadata.test", /resolves to 169\.254\.169\.254, which is the cloud metadata service/],
    ["loopback6.test", /resolves to ::1, which is loopback/],
    ["mapped.test", /resolves to ::ffff:127\.0\.0\.1, which is IPv4-mapped loopback/],
    ["aws6.test", /resolves to fd00:ec2::254, which is the AWS IPv6 metadata service/],
    ["mixed.test", /resolves to 127\.0\.0\.1, which is loopback/],
  ];
  for (const [name, reason] of expected) {
    it(`refuses granted ${name} (${answers.get(name)?.join(", ")}) over CONNECT and plain HTTP`, async () => {
      const tunnel = await connectThrough({ port: proxy.port! }, `${name}:${sink.port}`);
      assert.equal(tunnel.status, 403);
      assert.match(await readToEnd(tunnel.socket, tunnel.head), reason);
      const plain = await sendRaw(
        proxy.port!,
        `GET http://${name}:${sink.port}/ HTTP/1.1\r\nhost: ${name}:${sink.port}\r\n\r\n`,
      );
      assert.match(plain, /^HTTP\/1\.1 403 /);
      assert.match(plain, reason);
      assert.equal(sink.accepted(), 0, "the loopback server must never be reached");
    });
  }

  it("answers 502 for a granted name with no addresses", async () => {
    const tunnel = await connectThrough({ port: proxy.port! }, `empty.test:${sink.port}`);
    assert.equal(tunnel.status, 502);
    assert.match(await readToEnd(tunnel.socket, tunnel.head), /empty\.test has no addresses/);
  });
});

describe("the egress proxy when the run's grants cannot be read", () => {
  // Bounded: without the refusal the client would wait for an answer that never comes.
  it(
    "refuses that connection with 503, records it, and answers the next one once the grants are back",
    { timeout: 30_000 },
    async () => {
      const sink = await startSinkServer(Infinity, 0);
      let failing = true;
      const records: EgressConnectionRecord[] = [];
      const proxy = await serveEgressProxy({
        port: 0,
        runId: "run-egress-grants-down",
        // As the runner's loadNetworkGrants does when the database does not answer.
        allow: () =>
          failing
            ? Promise.reject(new Error("connection refused"))
            : Promise.resolve(new Set(["granted.test"])),
        resolve: async () => ["127.0.0.1"],
        allowAddressForTests: (address) => address === "127.0.0.1",
        logger: silent,
        onConnection: (r) => void records.push(r),
        limits: { connectPorts: [sink.port] },
      });
      try {
        const refused = await connectThrough({ port: proxy.port! }, `granted.test:${sink.port}`);
        assert.equal(refused.status, 503);
        assert.match(
          await readToEnd(refused.socket, refused.head),
          /the run's network grants could not be read just now; try again/,
        );
        assert.equal(sink.accepted(), 0);
        failing = false;
        const opened = await connectThrough({ port: proxy.port! }, `granted.test:${sink.port}`);
        assert.equal(opened.status, 200);
        opened.socket.destroy();
        await waitUntil("both records", () => records.length === 2);
        assert.deepEqual(
          records.map((r) => `${r.outcome} ${r.status}`),
          ["refused 503", "closed 200"],
        );
      } finally {
        await proxy.close();
        await sink.close();
      }
    },
  );
});

describe("the egress proxy's bounds", () => {
  let hold: Listening;
  before(async () => {
    hold = await startSinkServer(Infinity, 0);
  });
  after(async () => {
    await hold?.close();
  });

  /**
   * A proxy granting granted.test (resolved to loopback, which it lets through) on the hold
   * server's port, with `limits` on top; `records` collects each connection's record.
   */
  const open = (
    limits: Omit<EgressLimitsInput, "connectPorts">,
    more: { runId?: string; socketPath?: string; records?: EgressConnectionRecord[] } = {},
  ) =>
    serveEgressProxy({
      ...(more.socketPath ? { socketPath: more.socketPath } : { port: 0 }),
      runId: more.runId ?? "run-egress-3",
      allow: () => new Set(["granted.test"]),
      resolve: async () => ["127.0.0.1"],
      allowAddressForTests: (address) => address === "127.0.0.1",
      logger: silent,
      ...(more.records ? { onConnection: (r: EgressConnectionRecord) => void more.records?.push(r) } : {}),
      limits: { connectPorts: [hold.port], ...limits },
    });

  it("closes every open tunnel on close() and records them as ended with the run", async () => {
    const records: EgressConnectionRecord[] = [];
    const proxy = await open({}, { runId: "run-egress-4", records });
    const tunnels = await Promise.all(
      [1, 2, 3].map(() => connectThrough({ port: proxy.port! }, `granted.test:${hold.port}`)),
    );
    assert.deepEqual(
      tunnels.map((t) => t.status),
      [200, 200, 200],
    );
    await waitUntil("the server to hold three tunnels", () => hold.accepted() >= 3);
    const closedByProxy = tunnels.map(
      (t) => new Promise<void>((resolve) => t.socket.once("close", () => resolve())),
    );
    await proxy.close();
    await Promise.all(closedByProxy);
    assert.equal(proxy.openConnections(), 0);
    assert.deepEqual(
      records.map((r) => r.outcome),
      ["proxy_closed", "proxy_closed", "proxy_closed"],
    );
    const late = await connectThrough({ port: proxy.port! }, `granted.test:${hold.port}`).then(
      () => "answered",
      (error: NodeJS.ErrnoException) => error.code,
    );
    assert.equal(late, "ECONNREFUSED");
  });

  it("refuses a flood past maxConnections at once, and takes connections again when one ends", async () => {
    const proxy = await open({ maxConnections: 3 });
    try {
      const held = await Promise.all(
        [1, 2, 3].map(() => connectThrough({ port: proxy.port! }, `granted.test:${hold.port}`)),
      );
      assert.deepEqual(
        held.map((t) => t.status),
        [200, 200, 200],
      );
      const started = performance.now();
      const flood = await Promise.all(
        Array.from({ length: 40 }, () =>
          sendRaw(
            proxy.port!,
            `CONNECT granted.test:${hold.port} HTTP/1.1\r\nhost: granted.test:${hold.port}\r\n\r\n`,
          ),
        ),
      );
      const floodMs = performance.now() - started;
      for (const answer of flood)
        assert.match(answer, /^HTTP\/1\.1 503 [\s\S]*already has 3 connections open/);
      // Refused before any parsing or DNS: generous for a loaded 2-core machine, far below any timeout in play.
      assert.ok(floodMs < 5_000, `40 refusals took ${floodMs.toFixed(0)} ms`);
      assert.equal(proxy.blocked().find((b) => b.domain === "(connection limit)")?.attempts, 40);
      held[0]?.socket.destroy();
      await waitUntil("the slot to be free", () => proxy.openConnections() === 2);
      const again = await connectThrough({ port: proxy.port! }, `granted.test:${hold.port}`);
      assert.equal(again.status, 200);
      console.log(`egress flood: 40 connections past the bound refused in ${floodMs.toFixed(0)} ms`);
    } finally {
      await proxy.close();
    }
  });

  it("closes a tunnel that idles past idleTimeoutMs and records idle_timeout", async () => {
    const records: EgressConnectionRecord[] = [];
    const proxy = await open({ idleTimeoutMs: 200 }, { runId: "run-egress-5", records });
    try {
      const tunnel = await connectThrough({ port: proxy.port! }, `granted.test:${hold.port}`);
      assert.equal(tunnel.status, 200);
      tunnel.socket.write("still here");
      await new Promise<void>((resolve) => tunnel.socket.once("close", () => resolve()));
      const record = await waitUntil("the idle tunnel's record", () => records[0]);
      assert.deepEqual([record.outcome, record.bytesOut], ["idle_timeout", 10]);
      assert.ok(record.durationMs >= 200, `closed after ${record.durationMs} ms`);
    } finally {
      await proxy.close();
    }
  });

  it("drops a client that never finishes its request head (408)", async () => {
    const proxy = await open({ maxConnections: 3, headersTimeoutMs: 300 });
    try {
      const answer = await sendRaw(proxy.port!, "CONNECT granted.test:443 HTTP/1.1\r\nhost: gran");
      assert.match(answer, /^HTTP\/1\.1 408 /);
      await waitUntil("the slot to be free", () => proxy.openConnections() === 0);
    } finally {
      await proxy.close();
    }
  });

  it("serves on a unix socket the sandbox's user can open, and removes it on close()", async () => {
    const { mkdtemp, stat, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "airlock-egress-sock-"));
    const socketPath = join(dir, "egress.sock");
    const proxy = await open({ maxConnections: 3 }, { socketPath });
    try {
      assert.equal((await stat(socketPath)).mode & 0o777, 0o666);
      const tunnel = await connectThrough({ socketPath }, `granted.test:${hold.port}`);
      assert.equal(tunnel.status, 200);
      tunnel.socket.destroy();
    } finally {
      await proxy.close();
    }
    await assert.rejects(stat(socketPath), { code: "ENOENT" });
    await rm(dir, { recursive: true, force: true });
  });
});
