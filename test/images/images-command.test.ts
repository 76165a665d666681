import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { main } from "../../cli/main.ts";

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out = collector();
  const err = collector();
  const code = await main(argv, { AIRLOCK_LOG_LEVEL: "silent", ...env }, out.stream, err.stream);
  return { code, stdout: out.text(), stderr: err.text() };
}

describe("airlock images build", () => {
  it("documents its flags", async () => {
    const r = await runCli(["images", "build", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--agent <id>", "--base-image <ref>", "--no-cache", "build-offline-base.sh"]) {
      assert.ok(r.stdout.includes(flag), `help lacks ${flag}:\n${r.stdout}`);
    }
  });

  it("says how to start Docker when it cannot be reached", async () => {
    const r = await runCli(["images", "build"], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Docker is not reachable\. Start it .*DOCKER_HOST/s);
    assert.match(r.stderr, /\[image_build\]/);
  });

  it("says to pull or build the base image offline when it is missing", async () => {
    const r = await runCli(["images", "build", "--base-image", "airlock-test/no-such-image:missing"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /airlock-test\/no-such-image:missing is not present in Docker/);
    assert.match(r.stderr, /docker pull airlock-test\/no-such-image:missing/);
    assert.match(r.stderr, /scripts\/build-offline-base\.sh/);
  });

  it("rejects an unknown agent as a usage error", async () => {
    const r = await runCli(["images", "build", "--agent", "no-such-agent"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown agent "no-such-agent"/);
  });
});
