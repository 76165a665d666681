import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Writable } from "node:stream";
import { crc32 } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { main } from "../../cli/main.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildGrantedImage, type BuiltGrantedImage } from "../../runner/images/build-granted-image.ts";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";
import { parseImageGrant } from "../../runner/images/image-grant.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });

/** A zip of stored (uncompressed) entries: all a wheel needs to be installed by pip. */
function writeZip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBytes, end]);
}

const wheelName = "airlock_probe-1.0.0-py3-none-any.whl";
const wheel = writeZip({
  "airlock_probe/__init__.py": 'VALUE = "probe-ok"\n',
  "airlock_probe-1.0.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: airlock-probe\nVersion: 1.0.0\n",
  "airlock_probe-1.0.0.dist-info/WHEEL":
    "Wheel-Version: 1.0\nGenerator: airlock-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
  "airlock_probe-1.0.0.dist-info/RECORD":
    "airlock_probe/__init__.py,,\nairlock_probe-1.0.0.dist-info/METADATA,,\n" +
    "airlock_probe-1.0.0.dist-info/WHEEL,,\nairlock_probe-1.0.0.dist-info/RECORD,,\n",
});

/**
 * The address a container on the engine's default bridge reaches the host at (its default
 * gateway, from /proc/net/route: little-endian hex): where the build finds the index.
 */
async function dockerBridgeAddress(): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)("docker", [
    "run",
    "--rm",
    "--entrypoint",
    "cat",
    baseImageRef(),
    "/proc/net/route",
  ]);
  const gateway = stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[1] === "00000000")?.[2];
  if (!gateway || !/^[0-9A-F]{8}$/i.test(gateway)) return undefined;
  return [6, 4, 2, 0].map((i) => parseInt(gateway.slice(i, i + 2), 16)).join(".");
}

/**
 * A pip grant end to end, with a PEP 503 simple index served by this test on the Docker
 * bridge (the real index cannot be reached here): AIRLOCK_PIP_INDEX_URL is plain HTTP, so
 * the builder must trust its host for pip, and python3 comes from the base image's apt.
 */
describe("buildGrantedImage: a pip grant from AIRLOCK_PIP_INDEX_URL", () => {
  let bridge: string | undefined;
  let server: http.Server | undefined;
  const seen: string[] = [];
  let indexUrl = "";
  let built: BuiltGrantedImage;

  before(async () => {
    bridge = await dockerBridgeAddress();
    if (!bridge) return;
    const sha = createHash("sha256").update(wheel).digest("hex");
    server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      if (req.url === "/simple/airlock-probe/") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(
          `<!DOCTYPE html><html><body><a href="/files/${wheelName}#sha256=${sha}">${wheelName}</a></body></html>`,
        );
      } else if (req.url === `/files/${wheelName}`) {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(wheel);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server!.listen(0, bridge, resolve));
    indexUrl = `http://${bridge}:${(server.address() as AddressInfo).port}/simple/`;
    built = await buildGrantedImage(runtime, {
      agent: getAgent("builtin"),
      grants: [parseImageGrant("pip:airlock_probe==1.0.0")],
      logger,
      pipIndexUrl: indexUrl,
    });
  });

  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("installs the wheel from the index into a venv on PATH, records it in the SBOM delta and the labels", async (t) => {
    if (!bridge)
      return t.skip("containers have no default gateway: the build cannot reach an index on this host");
    assert.ok(seen.includes(`/files/${wheelName}`), `the index saw: ${seen.join(", ")}`);
    assert.deepEqual(built.grants, [{ kind: "pip", name: "airlock-probe", version: "1.0.0" }]);
    assert.deepEqual(built.sbomDelta.pip, [{ name: "airlock-probe", version: "1.0.0" }]);
    assert.ok(
      built.sbomDelta.dpkg.some((p) => p.name === "python3"),
      JSON.stringify(built.sbomDelta.dpkg),
    );
    assert.equal(built.image.labels["airlock.capabilities"], "pip:airlock-probe==1.0.0");

    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const code = await main(
      [
        "sandbox",
        "exec",
        "--image",
        built.ref,
        "--",
        "python3",
        "-c",
        "import airlock_probe; print(airlock_probe.VALUE)",
      ],
      { ...process.env, AIRLOCK_LOG_LEVEL: "silent" },
      sink,
      sink,
    );
    assert.equal(code, 0, chunks.join(""));
    assert.equal(chunks.join("").trim(), "probe-ok");
  });
});
