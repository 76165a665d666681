import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSign, generateKeyPairSync } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { ProbotOctokit } from "probot";
import { getAgent } from "../../core/agents/get-agent.ts";
import { hashImageGrants } from "../../core/capabilities/hash-image-grants.ts";
import { createOctokitGitHubApi } from "../../core/github/create-octokit-github-api.ts";
import type { GitHubApi } from "../../core/github/github-api.ts";
import { createLogger } from "../../core/logger.ts";
import { bundleAction } from "../../action/bundle-action.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";
import { playActionsRunner } from "./play-actions-runner.ts";

const execFileAsync = promisify(execFile);
const actionDir = new URL("../../action/", import.meta.url).pathname;
const registry = "127.0.0.1:5000";
const runId = "r-action-1";
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const capabilitiesFile = (aptName: string) =>
  [
    "capabilities:",
    "  - kind: apt",
    `    name: ${aptName}`,
    "    reason: parse JSON in the build script",
    `    run: ${runId}`,
    "    state: pending",
    "  - kind: apt",
    "    name: nmap",
    "    reason: scan",
    `    run: ${runId}`,
    "    state: denied",
    "    decided_by: maintainer",
    "  - kind: network",
    "    name: example.com",
    "    reason: fetch the schema",
    `    run: ${runId}`,
    "    state: pending",
    "",
  ].join("\n");

function signJwt(privateKey: string, appId: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iat: now - 30, exp: now + 540, iss: appId })}`;
  return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(privateKey).toString("base64url")}`;
}

describe("action/: the committed bundle", () => {
  it("is what action/src bundles to today (npm run build:action rewrites it)", async () => {
    const out = await mkdtemp(join(tmpdir(), "airlock-action-bundle-"));
    try {
      const { bytes } = await bundleAction(out);
      for (const file of await readdir(out)) {
        const fresh = await readFile(join(out, file));
        const committed = await readFile(join(actionDir, "dist", file)).catch(() => undefined);
        assert.ok(
          committed?.equals(fresh),
          `action/dist/${file} is stale: run npm run build:action and commit action/dist/`,
        );
      }
      assert.deepEqual((await readdir(join(actionDir, "dist"))).sort(), (await readdir(out)).sort());
      console.log(`# action bundle: ${(bytes / 1024).toFixed(1)} KiB`);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

/**
 * The Action's dist/ run as the Actions runner runs it (play-actions-runner.ts), dispatched
 * through the real Octokit adapter against the GitHub stand-in, building with real Docker
 * and pushing to the local registry (scripts/start-services.sh starts it on 127.0.0.1:5000).
 */
describe("action/: dist/index.js dispatched, built and pushed", () => {
  const appId = 4343;
  const keys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  let gh: GitHubStandIn;
  let github: GitHubApi;
  let tmp: string;
  let workflowText: string;
  let baseImage: string;
  let agentImageId: string;
  const grants = [{ kind: "apt" as const, name: "jq" }];

  const dispatch = async (repo: string, inputs: Record<string, string>) => {
    const [owner = "", name = ""] = repo.split("/");
    const head = await gh.readBranch(repo, "main");
    const { workflowRunId } = await github.dispatchWorkflow({ owner, repo: name }, "airlock-image.yml", {
      ref: "main",
      inputs: {
        run_id: runId,
        commit_sha: head?.sha ?? "",
        agent: "builtin",
        base_image: baseImage,
        registry,
        image: "airlock-test/images",
        grants: "apt:jq",
        grants_sha256: hashImageGrants(grants),
        ...inputs,
      },
    });
    return { workflowRunId, commit: head?.sha ?? "" };
  };

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "airlock-image-action-"));
    const registryUp = await fetch(`http://${registry}/v2/`).catch(() => undefined);
    assert.ok(registryUp?.ok, `no registry on ${registry}: run scripts/start-services.sh (docker-registry)`);
    workflowText = await readFile(join(actionDir, "airlock-image.yml"), "utf8");
    // The operator publishes the agent image the runners use; the Action builds on it.
    const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
    const agent = await buildAgentImage(runtime, { agent: getAgent("builtin") });
    agentImageId = agent.image.id;
    baseImage = `${registry}/airlock-test/agents:builtin`;
    await execFileAsync("docker", ["tag", agent.ref, baseImage]);
    await execFileAsync("docker", ["push", "--quiet", baseImage], { maxBuffer: 16 * 1024 * 1024 });

    gh = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKey, webhookSecret: "unused" });
    gh.createInstallation({
      id: 1,
      account: "acme",
      permissions: { metadata: "read", contents: "write", checks: "write", actions: "write" },
    });
    for (const [name, apt] of [
      ["demo", "jq"],
      ["tampered", "curl"],
    ] as const) {
      await gh.createRepo({
        owner: "acme",
        name,
        installationId: 1,
        files: {
          "README.md": "# demo\n",
          ".github/workflows/airlock-image.yml": workflowText,
          ".github/airlock/capabilities.yml": capabilitiesFile(apt),
        },
      });
    }
    const app = new ProbotOctokit({
      baseUrl: gh.apiUrl,
      auth: { token: signJwt(keys.privateKey, appId) },
      log: quiet,
    });
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", {
      installation_id: 1,
    });
    github = createOctokitGitHubApi(
      new ProbotOctokit({
        baseUrl: gh.apiUrl,
        auth: { token: data.token },
        log: quiet,
        retry: { enabled: false },
        throttle: { enabled: false },
      }),
    );
  });

  after(async () => {
    await gh?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("builds exactly the approved apt grant on the agent image, pushes it, and reports outputs, summary and check run", async (t) => {
    const { workflowRunId, commit } = await dispatch("acme/demo", {});
    const dispatched = gh.state.workflowRuns.find((r) => r.id === workflowRunId);
    assert.equal(dispatched?.displayTitle, `Airlock image for run ${runId}`);
    assert.equal(
      dispatched?.inputs.capabilities_file,
      ".github/airlock/capabilities.yml",
      "the template's default",
    );

    const ran = await playActionsRunner({ gh, workflowRunId, workflowText, tmpDir: tmp });
    assert.equal(ran.exitCode, 0, `${ran.stdout}\n${ran.stderr}`);
    const image = ran.outputs.image ?? "";
    const match = /^127\.0\.0\.1:5000\/airlock-test\/images:builtin-[0-9a-f]{64}@(sha256:[0-9a-f]{64})$/.exec(
      image,
    );
    assert.ok(match, `image output: ${image}`);
    assert.equal(ran.outputs.digest, match[1]);
    assert.equal(ran.outputs.grants, "apt:jq");
    const delta = JSON.parse(ran.outputs["sbom-delta"] ?? "{}") as { dpkg: { name: string }[] };
    assert.ok(
      delta.dpkg.some((p) => p.name === "jq"),
      JSON.stringify(delta),
    );
    assert.match(ran.summary, /## Airlock image for run r-action-1/);
    assert.match(ran.summary, /\| dpkg \| jq \|/);
    // `::add-mask::` lines are commands to the runner, which hides the value from then on.
    const logged = ran.stdout
      .split("\n")
      .filter((line) => !line.startsWith("::add-mask::"))
      .join("\n");
    assert.match(ran.stdout, /^::add-mask::ghs_/m, "the token is masked before anything runs");
    assert.doesNotMatch(logged, /ghs_[0-9a-f]{36}/, "the workflow token never reaches the log");

    // The registry holds that digest.
    const manifest = await fetch(`http://${registry}/v2/airlock-test/images/manifests/${match[1]}`, {
      method: "HEAD",
      headers: {
        accept:
          "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
      },
    });
    assert.equal(manifest.status, 200);
    // Its labels name the grants, their hash, the run and the agent image it was built on.
    const { stdout } = await execFileAsync("docker", [
      "image",
      "inspect",
      "--format",
      "{{json .Config.Labels}}",
      image,
    ]);
    const labels = JSON.parse(stdout) as Record<string, string>;
    assert.equal(labels["airlock.capabilities"], "apt:jq");
    assert.equal(labels["airlock.grants-sha256"], hashImageGrants(grants));
    assert.equal(labels["airlock.run"], runId);
    assert.equal(labels["airlock.agent-image-id"], agentImageId);

    const check = gh.state.checkRuns.find((r) => r.headSha === commit && r.name === "airlock-image");
    assert.equal(check?.appSlug, "github-actions", "posted with the workflow's token");
    assert.equal(check?.conclusion, "success");
    assert.equal(check?.externalId, runId);
    assert.deepEqual(JSON.parse(check?.output.text ?? "{}"), {
      runId,
      grantsSha256: hashImageGrants(grants),
      image,
    });
    // Through the adapter the app uses.
    const listed = await github.listCheckRuns({ owner: "acme", repo: "demo" }, commit, "airlock-image");
    assert.equal(listed[0]?.appSlug, "github-actions");
    t.diagnostic(`build and push of apt:jq: ${(ran.durationMs / 1000).toFixed(1)} s (Action process)`);
  });

  it("refuses a capabilities file that does not hold the approved grant at the commit, and reports why", async () => {
    const { workflowRunId, commit } = await dispatch("acme/tampered", {});
    const ran = await playActionsRunner({ gh, workflowRunId, workflowText, tmpDir: tmp });
    assert.equal(ran.exitCode, 1);
    assert.match(
      ran.stdout,
      /::error::refused apt:jq: not asked for run r-action-1 in \.github\/airlock\/capabilities\.yml at [0-9a-f]{40} \(it lists apt:curl\)/,
    );
    assert.equal(ran.outputs.image, undefined);
    const check = gh.state.checkRuns.find((r) => r.repo === "acme/tampered" && r.headSha === commit);
    assert.equal(check?.conclusion, "failure");
    const report = JSON.parse(check?.output.text ?? "{}") as { image?: string; error?: string };
    assert.equal(report.image, undefined);
    assert.match(report.error ?? "", /refused apt:jq/);
  });

  it("refuses grants whose hash is not the dispatched grants_sha256", async () => {
    const { workflowRunId } = await dispatch("acme/demo", { grants: "apt:jq,apt:nmap" });
    const ran = await playActionsRunner({ gh, workflowRunId, workflowText, tmpDir: tmp });
    assert.equal(ran.exitCode, 1);
    assert.match(
      ran.stdout,
      /::error::the grants apt:jq, apt:nmap hash to [0-9a-f]{64}, not to the dispatched grants_sha256/,
    );
  });

  it("names the input at fault", async () => {
    const { workflowRunId } = await dispatch("acme/demo", {});
    const ran = await playActionsRunner({
      gh,
      workflowRunId,
      workflowText,
      tmpDir: tmp,
      override: { commit_sha: "main" },
    });
    assert.equal(ran.exitCode, 1);
    assert.match(
      ran.stdout,
      /::error::input "commit_sha" must be a full commit SHA \(40 lower-case hex digits\); got "main"/,
    );
  });
});
