import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "../helpers/run-cli.ts";

describe("airlock images build", () => {
  it("documents its flags", async () => {
    const r = await runCli(["images", "build", "--help"]);
    assert.equal(r.code, 0);
    for (const flag of ["--agent <id>", "--base-image <ref>", "--no-cache", "build-offline-base.sh"]) {
      assert.ok(r.out.includes(flag), `help lacks ${flag}:\n${r.out}`);
    }
  });

  it("says how to start Docker when it cannot be reached", async () => {
    const r = await runCli(["images", "build"], {
      AIRLOCK_LOG_LEVEL: "silent",
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
    });
    assert.equal(r.code, 1);
    assert.match(r.err, /Docker is not reachable\. Start it .*DOCKER_HOST/s);
    assert.match(r.err, /\[image_build\]/);
  });

  it("says to pull or build the base image offline when it is missing", async () => {
    const r = await runCli(["images", "build", "--base-image", "airlock-test/no-such-image:missing"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /airlock-test\/no-such-image:missing is not present in Docker/);
    assert.match(r.err, /docker pull airlock-test\/no-such-image:missing/);
    assert.match(r.err, /scripts\/build-offline-base\.sh/);
  });

  it("rejects an unknown agent as a usage error", async () => {
    const r = await runCli(["images", "build", "--agent", "no-such-agent"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown agent "no-such-agent"/);
  });
});
