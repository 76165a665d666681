import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { before, describe, it } from "node:test";
import { promisify } from "node:util";
import { getAgent } from "../../core/agents/get-agent.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage, type BuiltAgentImage } from "../../runner/images/build-agent-image.ts";
import { buildGrantedImage, type BuiltGrantedImage } from "../../runner/images/build-granted-image.ts";
import { GrantedImageBuildError } from "../../runner/images/granted-image-build-error.ts";
import { computeGrantedImageTag } from "../../runner/images/granted-image-tag.ts";
import { ImageBuildError } from "../../runner/images/image-build-error.ts";
import { parseImageGrant } from "../../runner/images/image-grant.ts";
import { runCli } from "../helpers/run-cli.ts";

const execFileAsync = promisify(execFile);
const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const agent = getAgent("builtin");
const cliEnv = { AIRLOCK_LOG_LEVEL: "silent", ...process.env };
/** jq from Debian; left-pad (a library) and semver (a library with a command) from npm. */
const grantSpecs = ["apt:jq", "npm:left-pad@1.3.0", "npm:semver@7.6.3"];

async function rootfsLayers(ref: string): Promise<string[]> {
  const { stdout } = await execFileAsync("docker", [
    "image",
    "inspect",
    "--format",
    "{{json .RootFS.Layers}}",
    ref,
  ]);
  return JSON.parse(stdout) as string[];
}

/**
 * Real Docker, real apt (the base image's Debian sources) and the host's npm. The granted
 * image is built once for the file (apt inside the build takes 5–30 s) and reused.
 */
describe("buildGrantedImage: apt and npm grants on the cached agent image", () => {
  let agentImage: BuiltAgentImage;
  let built: BuiltGrantedImage;

  before(async () => {
    agentImage = await buildAgentImage(runtime, { agent });
    built = await buildGrantedImage(runtime, {
      agent,
      grants: grantSpecs.map(parseImageGrant),
      logger,
    });
  });

  it("is tagged with the sha256 of the base id, the agent's inputs digest and the sorted grants, and labelled with them", async () => {
    assert.equal(
      built.ref,
      computeGrantedImageTag({
        agent: "builtin",
        baseImageId: agentImage.baseImage.id,
        agentInputsDigest: agentImage.inputsDigest,
        grants: [...grantSpecs].reverse().map(parseImageGrant),
        recipeDigest: built.recipeDigest,
      }),
    );
    assert.notEqual(built.ref, agentImage.ref);
    const labels = built.image.labels;
    assert.deepEqual(JSON.parse(labels["airlock.grants"] ?? "null"), [
      { kind: "apt", name: "jq" },
      { kind: "npm", name: "left-pad", version: "1.3.0" },
      { kind: "npm", name: "semver", version: "7.6.3" },
    ]);
    assert.equal(labels["airlock.capabilities"], "apt:jq,npm:left-pad@1.3.0,npm:semver@7.6.3");
    assert.equal(labels["airlock.base-image-id"], agentImage.baseImage.id);
    assert.equal(labels["airlock.agent-inputs-digest"], agentImage.inputsDigest);
    assert.equal(labels["airlock.agent-image-id"], agentImage.image.id);
    assert.equal(labels["airlock.recipe-digest"], built.recipeDigest);
    assert.equal((await runtime.inspectImage(built.ref))?.id, built.image.id);
  });

  it("only adds layers on top of the agent image", async () => {
    const agentLayers = await rootfsLayers(agentImage.image.id);
    const grantedLayers = await rootfsLayers(built.image.id);
    assert.deepEqual(grantedLayers.slice(0, agentLayers.length), agentLayers);
    // apt's step, npm's copy and its command links; metadata steps add none.
    assert.equal(grantedLayers.length, agentLayers.length + 3);
  });

  it("returns the SBOM delta: the dpkg packages apt added, with their versions, and the npm tree", () => {
    const dpkg = new Map(built.sbomDelta.dpkg.map((p) => [p.name, p.version]));
    assert.match(dpkg.get("jq") ?? "", /^1\.6-/);
    assert.ok(dpkg.has("libjq1"), JSON.stringify(built.sbomDelta.dpkg));
    // Packages the agent image already had are not part of the delta.
    for (const present of ["git", "tini", "ca-certificates", "dpkg"]) assert.ok(!dpkg.has(present), present);
    assert.deepEqual(
      built.sbomDelta.npm.map((p) => [p.name, p.version, p.hasInstallScript]),
      [
        ["left-pad", "1.3.0", false],
        ["semver", "7.6.3", false],
      ],
    );
    assert.match(built.sbomDelta.npm[0]!.integrity, /^sha512-/);
    assert.deepEqual(built.sbomDelta.pip, []);
  });

  it("a second build of the same grants (in another order) is a cache hit: same id, no step run", async () => {
    const again = await buildGrantedImage(runtime, {
      agent,
      grants: [...grantSpecs, "apt:jq"].reverse().map(parseImageGrant),
      logger,
    });
    assert.equal(again.ref, built.ref);
    assert.equal(again.image.id, built.image.id);
    assert.equal(again.stepsRun, 0);
    assert.deepEqual(again.sbomDelta, built.sbomDelta);
    // Seconds, not the apt install: the agent image's check, npm on the host and a cached build.
    assert.ok(again.durationMs < 60_000, `${again.durationMs} ms`);
  });

  it("jq runs in a sandbox of the granted image, as 1001, with every added file owned by root; the agent image has no jq", async () => {
    const jq = await runCli(["sandbox", "exec", "--image", built.ref, "--", "jq", "--version"], cliEnv);
    assert.equal(jq.code, 0, jq.err);
    assert.match(jq.out, /^jq-1\.6/);
    const without = await runCli(
      ["sandbox", "exec", "--image", agentImage.ref, "--", "sh", "-c", "command -v jq || echo no jq"],
      cliEnv,
    );
    assert.equal(without.out.trim(), "no jq");

    const check = await runCli(
      [
        "sandbox",
        "exec",
        "--image",
        built.ref,
        "--",
        "sh",
        "-c",
        'id -u; find /opt/airlock/grants /usr/bin/jq /usr/local/bin ! -user 0 | head -5; echo end; node -e \'console.log(require("left-pad")("7", 3, "0"))\'; semver -r ">=1.2" 1.2.3 1.1.0',
      ],
      cliEnv,
    );
    assert.equal(check.code, 0, check.err);
    assert.equal(check.out, "1001\nend\n007\n1.2.3\n");
  });

  it("airlock images build --grant prints the tag, id, grants and SBOM delta", async () => {
    const r = await runCli(
      ["images", "build", "--agent", "builtin", ...grantSpecs.flatMap((g) => ["--grant", g])],
      cliEnv,
    );
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.startsWith(`built ${built.ref} (${built.image.id}, `), r.out);
    assert.match(r.out, /every step from cache/);
    assert.match(r.out, /^grants: apt:jq npm:left-pad@1\.3\.0 npm:semver@7\.6\.3$/m);
    assert.match(r.out, /^ {2}dpkg jq 1\.6-\S+$/m);
    assert.match(r.out, /^ {2}npm left-pad 1\.3\.0 \(WTFPL\)$/m);
    assert.match(r.out, /^ {2}npm semver 7\.6\.3 \(ISC\)$/m);
  });

  it("a package apt cannot find fails with a typed error carrying the build log's tail", async () => {
    const error = await buildGrantedImage(runtime, {
      agent,
      grants: [parseImageGrant("apt:airlock-no-such-package")],
      logger,
    }).then(
      () => assert.fail("the build succeeded"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GrantedImageBuildError, String(error));
    assert.equal(error.code, "image_build");
    assert.deepEqual(error.grants, ["apt:airlock-no-such-package"]);
    assert.ok(error.logTail.length > 0 && error.logTail.length <= 40, String(error.logTail.length));
    assert.ok(
      error.logTail.some((line) => /Unable to locate package airlock-no-such-package/.test(line)),
      error.logTail.join("\n"),
    );
    assert.ok(error.cause, "the engine's error is kept as the cause");
  });

  it("an npm package the registry does not have is refused on the host, before any build", async () => {
    await assert.rejects(
      buildGrantedImage(runtime, {
        agent,
        grants: [parseImageGrant("npm:airlock-no-such-package-4f1c9a@1.0.0")],
        logger,
      }),
      (error: unknown) =>
        error instanceof ImageBuildError &&
        !(error instanceof GrantedImageBuildError) &&
        /npm view airlock-no-such-package-4f1c9a@1\.0\.0 failed \(E404\)/.test(error.message),
    );
  });

  // Last: it replaces the tag's image, which the tests above compare ids with.
  it("a forced rebuild reads the SBOM delta from its own build output; it equals the one read back from the cached image", async () => {
    const rebuilt = await buildGrantedImage(runtime, {
      agent,
      grants: grantSpecs.map(parseImageGrant),
      logger,
      noCache: true,
    });
    assert.equal(rebuilt.ref, built.ref);
    assert.ok(rebuilt.stepsRun > 0);
    assert.deepEqual(rebuilt.sbomDelta, built.sbomDelta);
    const cached = await buildGrantedImage(runtime, {
      agent,
      grants: grantSpecs.map(parseImageGrant),
      logger,
    });
    assert.equal(cached.image.id, rebuilt.image.id);
    assert.equal(cached.stepsRun, 0);
    assert.deepEqual(cached.sbomDelta, rebuilt.sbomDelta);
    // The image the forced rebuild replaced is this test's own leftover now: remove it.
    if (rebuilt.image.id !== built.image.id) {
      await execFileAsync("docker", ["image", "rm", built.image.id]).catch(() => undefined);
    }
  });
});
