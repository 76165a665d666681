import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { UsageError } from "../../core/errors.ts";
import { computeAgentImageTag } from "../../runner/images/agent-image-tag.ts";
import { locateAgentImagesDir } from "../../runner/images/base-image-ref.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { runCli } from "../helpers/run-cli.ts";

describe("agent catalog", () => {
  it("has the builtin agent first, speaking the OpenAI API", () => {
    const first = agentCatalog[0];
    assert.equal(first?.id, "builtin");
    assert.equal(first.api, "openai");
    assert.deepEqual(first.command, ["node", "/opt/airlock-agent/agent/main.ts"]);
    assert.equal(getAgent("builtin"), first);
  });

  it("fails on an unknown id with a usage error naming every known id", () => {
    assert.throws(
      () => getAgent("claude-cod"),
      (error: unknown) =>
        error instanceof UsageError &&
        error.code === "usage" &&
        error.message ===
          'unknown agent "claude-cod"; known agents: builtin, claude-code, codex, openclaw (see `airlock agents`)',
    );
    const two = [...agentCatalog, { ...agentCatalog[0]!, id: "other" }];
    assert.throws(() => getAgent("x", two), /known agents: builtin, claude-code, codex, openclaw, other/);
  });

  it("every entry names an image folder that exists and an id that can name an image", () => {
    const ids = new Set<string>();
    const imagesDir = locateAgentImagesDir();
    for (const agent of agentCatalog) {
      assert.ok(!ids.has(agent.id), `duplicate id ${agent.id}`);
      ids.add(agent.id);
      assert.equal(agent.image.repository, `airlock/${agent.id}`);
      assert.ok(existsSync(join(imagesDir, agent.image.contextDir, agent.image.dockerfile)), agent.id);
      assert.match(
        computeAgentImageTag(agent.id, `sha256:${"0".repeat(64)}`, []),
        /^airlock\/[a-z0-9_-]+:[0-9a-f]{64}$/,
      );
      for (const limit of Object.values(agent.defaultLimits)) assert.ok(limit > 0);
      assert.ok(agent.defaultModel.length > 0);
    }
  });

  it("the builtin agent's command points at a file of its image folder", () => {
    const builtin = getAgent("builtin");
    const script = builtin.command[1]!;
    const inRepo = script.replace(
      "/opt/airlock-agent/",
      join(locateAgentImagesDir(), builtin.image.contextDir, "/"),
    );
    assert.ok(existsSync(inRepo), `${script} has no source at ${inRepo}`);
  });
});

describe("airlock agents", () => {
  it("lists id, pinned version, api, image, its local size, limits and title", async () => {
    const r = await runCli(["agents"], { AIRLOCK_LOG_LEVEL: "silent", DOCKER_HOST: process.env.DOCKER_HOST });
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines[0]!, /^ID\s+VERSION\s+API\s+IMAGE\s+SIZE\s+DEFAULT LIMITS\s+DEFAULT MODEL\s+TITLE$/);
    assert.equal(lines.length, 1 + agentCatalog.length);
    const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
    const sizes: string[] = [];
    for (const agent of agentCatalog) {
      const image = await runtime.inspectImage(`${agent.image.repository}:latest`);
      sizes.push(image ? `${(image.sizeBytes / 1e6).toFixed(0)} MB` : "not built");
    }
    const row = (i: number) => lines[i]!.split(/\s{2,}/);
    assert.deepEqual(row(1).slice(0, 5), [
      "builtin",
      "0.1.0",
      "openai",
      "airlock/builtin:<content tag>",
      sizes[0],
    ]);
    assert.match(lines[1]!, /2048 MB, 1 cpu, 256 pids, 1800 s\s+gpt-4\.1-mini\s+Airlock's builtin/);
    assert.deepEqual(row(2).slice(0, 5), [
      "claude-code",
      "2.1.332",
      "anthropic",
      "airlock/claude-code:<content tag>",
      sizes[1],
    ]);
    assert.deepEqual(row(3).slice(0, 5), [
      "codex",
      "0.171.0",
      "openai",
      "airlock/codex:<content tag>",
      sizes[2],
    ]);
    assert.deepEqual(row(4).slice(0, 5), [
      "openclaw",
      "2026.9.6",
      "anthropic",
      "airlock/openclaw:<content tag>",
      sizes[3],
    ]);
  });

  it("says once when Docker does not answer, and still lists the catalog", async () => {
    const r = await runCli(["agents"], {
      AIRLOCK_LOG_LEVEL: "silent",
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trimEnd().split("\n").length, 1 + agentCatalog.length);
    assert.match(r.out, /^claude-code\s+2\.1\.332\s+anthropic\s+airlock\/claude-code:<content tag>\s+\?\s/m);
    assert.match(r.err, /^airlock agents: image sizes unknown, Docker did not answer/);
    assert.equal(r.err.split("\n").filter(Boolean).length, 1);
  });

  it("prints the catalog as JSON", async () => {
    const r = await runCli(["agents", "--json"]);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), JSON.parse(JSON.stringify(agentCatalog)));
  });

  it("airlock images build --agent rejects an unknown agent with the list, before touching Docker", async () => {
    const r = await runCli(["images", "build", "--agent", "nope"], {
      AIRLOCK_LOG_LEVEL: "silent",
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
    });
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown agent "nope"; known agents: builtin/);
  });
});
