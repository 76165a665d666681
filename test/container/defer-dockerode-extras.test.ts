import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";

// Runs in a fresh process: the module cache must start empty for the check to mean anything.
const probe = `
const { createRequire } = await import("node:module");
await import("./runner/container/docker-container-runtime.ts");
const req = createRequire(process.cwd() + "/");
const real = () => Object.keys(req.cache).filter((k) => /node_modules[\\\\/](ssh2|@grpc)[\\\\/]/.test(k)).length;
const atStart = real();
const httpsAtStart = process.moduleLoadList.includes("NativeModule https");
const grpc = req.cache["airlock-deferred:@grpc/grpc-js"].exports;
const serverType = typeof grpc.Server;
const ssh = req.cache["airlock-deferred:ssh2"].exports;
const client = new ssh.Client();
const https = req.cache["airlock-deferred:https"].exports;
const realHttps = https.request === (await import("node:https")).request;
console.log(JSON.stringify({ atStart, serverType, afterUse: real(), connect: typeof client.connect, httpsAtStart, realHttps }));
`;

describe("deferred dockerode extras", () => {
  it("loads no ssh2, gRPC or https module with the adapter, and the real ones on first use", () => {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
    const result = JSON.parse(out) as {
      atStart: number;
      serverType: string;
      afterUse: number;
      connect: string;
      httpsAtStart: boolean;
      realHttps: boolean;
    };
    assert.equal(result.atStart, 0);
    assert.equal(result.serverType, "function");
    assert.equal(result.connect, "function");
    assert.ok(result.afterUse > 10, `real modules loaded on use (${result.afterUse})`);
    // node:https (TLS and crypto with it) waits for a TLS DOCKER_HOST, and is node's own then.
    assert.equal(result.httpsAtStart, false);
    assert.equal(result.realHttps, true);
  });
});
