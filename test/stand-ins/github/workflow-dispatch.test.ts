import assert from "node:assert/strict";
import { createSign, generateKeyPairSync } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ProbotOctokit } from "probot";
import { startGitHubStandIn, type GitHubStandIn } from "./start-github-stand-in.ts";

const appId = 4545;
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const workflow = [
  "name: Build",
  "run-name: Build for ${{ inputs.who }}",
  "on:",
  "  workflow_dispatch:",
  "    inputs:",
  "      who: { required: true, type: string }",
  "      where: { required: false, default: here, type: string }",
  "permissions:",
  "  checks: write",
  "jobs: {}",
  "",
].join("\n");

function signJwt(privateKey: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iat: now - 30, exp: now + 540, iss: appId })}`;
  return `${unsigned}.${createSign("RSA-SHA256").update(unsigned).sign(privateKey).toString("base64url")}`;
}

/** The stand-in's model of workflow_dispatch, workflow tokens and workflow_run (issue 11). */
describe("GitHub stand-in: workflow dispatch", () => {
  const keys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  let gh: GitHubStandIn;
  let inst: InstanceType<typeof ProbotOctokit>;
  const dispatch = (
    body: { ref: string; inputs?: Record<string, string>; return_run_details?: boolean },
    workflowId = "build.yml",
  ) =>
    inst.request("POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", {
      owner: "acme",
      repo: "demo",
      workflow_id: workflowId,
      ...body,
    });

  before(async () => {
    gh = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKey, webhookSecret: "x" });
    gh.createInstallation({ id: 1, account: "acme", permissions: { metadata: "read", actions: "write" } });
    await gh.createRepo({
      owner: "acme",
      name: "demo",
      installationId: 1,
      files: {
        ".github/workflows/build.yml": workflow,
        ".github/workflows/push.yml": "on: push\njobs: {}\n",
      },
    });
    const app = new ProbotOctokit({
      baseUrl: gh.apiUrl,
      auth: { token: signJwt(keys.privateKey) },
      log: quiet,
    });
    const { data } = await app.request("POST /app/installations/{installation_id}/access_tokens", {
      installation_id: 1,
    });
    inst = new ProbotOctokit({
      baseUrl: gh.apiUrl,
      auth: { token: data.token },
      log: quiet,
      retry: { enabled: false },
      throttle: { enabled: false },
    });
  });
  after(async () => gh?.close());

  it("starts a run with the inputs and defaults, its title from run-name, and answers its id", async () => {
    const { status, data } = await dispatch({
      ref: "main",
      inputs: { who: "run-1" },
      return_run_details: true,
    });
    assert.equal(status, 200);
    const run = gh.state.workflowRuns.find(
      (r) => r.id === (data as { workflow_run_id: number }).workflow_run_id,
    );
    assert.deepEqual(run?.inputs, { who: "run-1", where: "here" });
    assert.equal(run?.displayTitle, "Build for run-1");
    assert.equal(run?.status, "queued");
    assert.equal((await dispatch({ ref: "main", inputs: { who: "x" } })).status, 204);
  });

  it("refuses what GitHub refuses: no such file, no workflow_dispatch trigger, an unexpected or missing input", async () => {
    await assert.rejects(dispatch({ ref: "main", inputs: { who: "x" } }, "nope.yml"), { status: 404 });
    await assert.rejects(dispatch({ ref: "main" }, "push.yml"), {
      status: 422,
      message: /Workflow does not have 'workflow_dispatch' trigger/,
    });
    await assert.rejects(dispatch({ ref: "main", inputs: { who: "x", extra: "y" } }), {
      status: 422,
      message: /Unexpected inputs provided: \["extra"\]/,
    });
    await assert.rejects(dispatch({ ref: "main", inputs: {} }), {
      status: 422,
      message: /Required input 'who' not provided/,
    });
  });

  it("gives the run a token with the workflow's permissions only, ended with the run", async () => {
    const { data } = await dispatch({ ref: "main", inputs: { who: "tok" }, return_run_details: true });
    const id = (data as { workflow_run_id: number }).workflow_run_id;
    const started = gh.startWorkflowRun(id);
    assert.equal(started.env.GITHUB_REPOSITORY, "acme/demo");
    const asWorkflow = new ProbotOctokit({
      baseUrl: gh.apiUrl,
      auth: { token: started.token },
      log: quiet,
      retry: { enabled: false },
      throttle: { enabled: false },
    });
    const head = await gh.readBranch("acme/demo", "main");
    const { data: check } = await asWorkflow.rest.checks.create({
      owner: "acme",
      repo: "demo",
      name: "airlock-image",
      head_sha: head!.sha,
      status: "completed",
      conclusion: "success",
    });
    assert.equal(check.app?.slug, "github-actions");
    // The workflow asked for checks: write only; reading contents is refused.
    await assert.rejects(
      asWorkflow.rest.repos.getContent({ owner: "acme", repo: "demo", path: ".github/workflows/build.yml" }),
      { status: 403 },
    );
    assert.deepEqual(
      gh.takeViolations().map((v) => v.kind),
      ["unauthorized"],
    );
    gh.setWebhookUrl("http://127.0.0.1:9/unreachable");
    await assert.rejects(gh.completeWorkflowRun(id, "success"));
    await assert.rejects(
      asWorkflow.rest.checks.create({ owner: "acme", repo: "demo", name: "late", head_sha: head!.sha }),
      {
        status: 401,
      },
    );
    assert.deepEqual(
      gh.takeViolations().map((v) => v.kind),
      ["unauthorized"],
    );
  });
});
