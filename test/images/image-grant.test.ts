import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getAgent } from "../../core/agents/get-agent.ts";
import { createLogger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../../runner/container/container-runtime.ts";
import { buildGrantedImage } from "../../runner/images/build-granted-image.ts";
import { computeGrantedImageTag } from "../../runner/images/granted-image-tag.ts";
import {
  formatImageGrant,
  InvalidGrantError,
  normalizeImageGrants,
  parseImageGrant,
} from "../../runner/images/image-grant.ts";
import { renderGrantedDockerfile } from "../../runner/images/render-granted-dockerfile.ts";
import { runCli } from "../helpers/run-cli.ts";

const baseImageId = `sha256:${"a".repeat(64)}`;
const agentInputsDigest = "b".repeat(64);
const recipeDigest = "e".repeat(64);

describe("image grants: kind:name[@version], strictly", () => {
  it("parses apt, npm (scoped too) and pip (== or @) grants", () => {
    assert.deepEqual(parseImageGrant("apt:jq"), { kind: "apt", name: "jq" });
    assert.deepEqual(parseImageGrant("apt:libc6-dev@2.36-9+deb12u4"), {
      kind: "apt",
      name: "libc6-dev",
      version: "2.36-9+deb12u4",
    });
    assert.deepEqual(parseImageGrant("apt:g++"), { kind: "apt", name: "g++" });
    assert.deepEqual(parseImageGrant("npm:left-pad@1.3.0"), {
      kind: "npm",
      name: "left-pad",
      version: "1.3.0",
    });
    assert.deepEqual(parseImageGrant("npm:@types/node"), { kind: "npm", name: "@types/node" });
    assert.deepEqual(parseImageGrant("npm:@types/node@22.1.0"), {
      kind: "npm",
      name: "@types/node",
      version: "22.1.0",
    });
    assert.deepEqual(parseImageGrant("pip:requests==2.32.3"), {
      kind: "pip",
      name: "requests",
      version: "2.32.3",
    });
    assert.deepEqual(parseImageGrant("pip:Django@5.0"), { kind: "pip", name: "Django", version: "5.0" });
  });

  it("refuses what could reach a shell, a URL, git, a file, an alias, a tag or a range, naming what it expects", () => {
    const refused: [string, RegExp][] = [
      ["jq", /has no kind; expected apt:/],
      ["deb:jq", /unknown kind "deb"/],
      ["network:example.com", /network: grants change no image/],
      ["llm-tool:web_search", /llm-tool: grants change no image/],
      ["apt:jq;rm -rf /", /not a Debian package name/],
      ["apt:JQ", /not a Debian package name/],
      ["apt:j", /not a Debian package name/],
      ["apt:-jq", /not a Debian package name/],
      ["apt:jq@$(id)", /not a Debian version/],
      ["apt:jq@1.6 && id", /not a Debian version/],
      ["npm:git+https://example.com/x.git", /not an npm package name/],
      ["npm:https://example.com/x.tgz", /not an npm package name/],
      ["npm:file:../x", /not an npm package name/],
      ["npm:x@npm:left-pad@1.3.0", /not an npm package name/],
      ["npm:user/repo", /not an npm package name/],
      ["npm:Left-Pad", /not an npm package name/],
      ["npm:.hidden", /not an npm package name/],
      ["npm:left-pad@latest", /not an exact version/],
      ["npm:left-pad@^1.3.0", /not an exact version/],
      ["npm:left-pad@1.3", /not an exact version/],
      ["pip:requests>=2", /not a PEP 508 package name/],
      ["pip:https://example.com/x.whl", /not a PEP 508 package name/],
      ["pip:requests==2.*", /not an exact PEP 440 version/],
      ["pip:requests==2.0 ; id", /not an exact PEP 440 version/],
    ];
    for (const [spec, message] of refused) {
      assert.throws(
        () => parseImageGrant(spec),
        (error: unknown) => error instanceof InvalidGrantError && message.test(error.message),
        spec,
      );
    }
  });

  it("formats, de-duplicates and sorts grants; pip names compare as PEP 503 does", () => {
    const grants = normalizeImageGrants([
      parseImageGrant("pip:Foo_Bar==1.0"),
      parseImageGrant("npm:left-pad@1.3.0"),
      parseImageGrant("apt:jq"),
      parseImageGrant("pip:foo.bar==1.0"),
      parseImageGrant("apt:jq"),
    ]);
    assert.deepEqual(grants.map(formatImageGrant), ["apt:jq", "npm:left-pad@1.3.0", "pip:foo-bar==1.0"]);
  });
});

describe("the granted image's tag", () => {
  const tag = (grants: string[], inputs = agentInputsDigest, base = baseImageId, recipe = recipeDigest) =>
    computeGrantedImageTag({
      agent: "builtin",
      baseImageId: base,
      agentInputsDigest: inputs,
      grants: grants.map(parseImageGrant),
      recipeDigest: recipe,
    });

  it("is airlock/<agent>:<sha256>, independent of the grants' order and duplicates", () => {
    const a = tag(["apt:jq", "npm:left-pad@1.3.0"]);
    assert.match(a, /^airlock\/builtin:[0-9a-f]{64}$/);
    assert.equal(tag(["npm:left-pad@1.3.0", "apt:jq", "apt:jq"]), a);
  });

  it("changes with any grant, version, the agent's inputs, the base image or the recipe", () => {
    const a = tag(["apt:jq"]);
    const others = [
      tag(["apt:jq", "apt:curl"]),
      tag(["apt:jq@1.6-2.1+deb12u2"]),
      tag(["apt:jq"], "c".repeat(64)),
      tag(["apt:jq"], agentInputsDigest, `sha256:${"d".repeat(64)}`),
      tag(["apt:jq"], agentInputsDigest, baseImageId, "f".repeat(64)),
    ];
    assert.equal(new Set([a, ...others]).size, 6);
  });

  it("refuses no grants, a bad digest and a bad agent id", () => {
    assert.throws(() => tag([]), /at least one apt, npm or pip grant/);
    assert.throws(() => tag(["apt:jq"], "nope"), /agent inputs digest must be 64 hex digits/);
    assert.throws(
      () => tag(["apt:jq"], agentInputsDigest, baseImageId, "x"),
      /recipe digest must be 64 hex digits/,
    );
    assert.throws(
      () =>
        computeGrantedImageTag({
          agent: "Bad/Agent",
          baseImageId,
          agentInputsDigest,
          grants: [],
          recipeDigest,
        }),
      /agent id "Bad\/Agent"/,
    );
  });
});

describe("the granted Dockerfile", () => {
  it("builds FROM the agent image as root, pins apt versions, and runs as 1001 again", () => {
    const text = renderGrantedDockerfile(normalizeImageGrants([parseImageGrant("apt:jq@1.6-2.1+deb12u2")]));
    assert.match(text, /^FROM \$\{AGENT_IMAGE\}$/m);
    assert.match(text, /^USER 0:0$/m);
    assert.match(text, /apt-get install -y --no-install-recommends jq=1\.6-2\.1\+deb12u2;/);
    assert.match(text, /rm -rf \/var\/lib\/apt\/lists\/\*/);
    const users = [...text.matchAll(/^USER (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(users, ["0:0", "1001:1001"]);
    assert.doesNotMatch(text, /npm|pip/);
  });

  it("copies npm from the context and takes pip wheels only from AIRLOCK_PIP_INDEX_URL", () => {
    const text = renderGrantedDockerfile(
      normalizeImageGrants([parseImageGrant("npm:left-pad@1.3.0"), parseImageGrant("pip:requests==2.32.3")]),
    );
    assert.match(text, /^COPY --chown=0:0 npm\/ \/opt\/airlock\/grants\/npm\/$/m);
    assert.match(
      text,
      /--only-binary=:all: --index-url "\$AIRLOCK_PIP_INDEX_URL" \$\{AIRLOCK_PIP_TRUSTED_HOST:\+--trusted-host "\$AIRLOCK_PIP_TRUSTED_HOST"\} requests==2\.32\.3;/,
    );
    assert.match(text, /ln -s \/opt\/airlock\/grants\/npm\/node_modules\/\.bin\/\* \/usr\/local\/bin\//);
    assert.match(text, /^ENV NODE_PATH=\/opt\/airlock\/grants\/npm\/node_modules$/m);
    // The sandbox sets its own PATH: commands are linked, not put on the image's PATH.
    assert.doesNotMatch(text, /^ENV PATH/m);
    assert.doesNotMatch(text, /npm (install|ci)/);
  });
});

describe("buildGrantedImage refuses before touching Docker", () => {
  // Any call to the engine fails the test: these refusals must come first.
  const untouchable = new Proxy({} as ContainerRuntime, {
    get: (_target, name) => () => {
      throw new Error(`the engine was called (${String(name)})`);
    },
  });
  const logger = createLogger("silent");
  const agent = getAgent("builtin");

  it("a pip grant without AIRLOCK_PIP_INDEX_URL, or with credentials in it", async () => {
    const grants = [parseImageGrant("pip:requests==2.32.3")];
    await assert.rejects(
      buildGrantedImage(untouchable, { agent, grants, logger }),
      /pip grants need AIRLOCK_PIP_INDEX_URL/,
    );
    await assert.rejects(
      buildGrantedImage(untouchable, {
        agent,
        grants,
        logger,
        pipIndexUrl: "https://user:secret@pypi.example.test/simple",
      }),
      /must not hold credentials/,
    );
    await assert.rejects(
      buildGrantedImage(untouchable, { agent, grants, logger, pipIndexUrl: "file:///srv/simple" }),
      /must be an http\(s\) URL/,
    );
  });

  it("grant values that did not come through the parser", async () => {
    await assert.rejects(
      buildGrantedImage(untouchable, {
        agent,
        grants: [{ kind: "apt", name: "jq; id" }],
        logger,
      }),
      /not an image grant .*not a Debian package name/,
    );
    await assert.rejects(
      buildGrantedImage(untouchable, { agent, grants: [], logger }),
      /no apt, npm or pip grant/,
    );
  });
});

describe("--grant on the command line", () => {
  it("airlock run: a bad value is a usage error naming the flag and what it expects", async () => {
    const r = await runCli(
      [
        "run",
        "--repo",
        ".",
        "--agent",
        "builtin",
        "--prompt",
        "x",
        "--grant",
        "apt:jq",
        "--grant",
        "npm:left-pad@latest",
      ],
      { AIRLOCK_LOG_LEVEL: "silent", AIRLOCK_TOKEN_SECRET: "test-token-secret-image-grant-0123456789abcdef" },
    );
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--grant "npm:left-pad@latest": "latest" is not an exact version/);
    const pip = await runCli(
      ["run", "--repo", ".", "--agent", "builtin", "--prompt", "x", "--grant", "pip:requests"],
      { AIRLOCK_LOG_LEVEL: "silent", AIRLOCK_TOKEN_SECRET: "test-token-secret-image-grant-0123456789abcdef" },
    );
    assert.equal(pip.code, 2, pip.err);
    assert.match(pip.err, /--grant pip:… needs AIRLOCK_PIP_INDEX_URL/);
  });

  it("airlock images build: --grant needs --agent, and documents itself", async () => {
    const r = await runCli(["images", "build", "--grant", "apt:jq"]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--grant needs --agent <id>/);
    const bad = await runCli(["images", "build", "--agent", "builtin", "--grant", "network:example.com"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--grant "network:example\.com": network: grants change no image/);
    const help = await runCli(["images", "build", "--help"]);
    assert.match(help.out, /--grant <kind:name\[@version\]>/);
    const runHelp = await runCli(["run", "--help"]);
    assert.match(runHelp.out, /--grant <kind:name\[@version\]>/);
  });
});
