import assert from "node:assert/strict";
import { generateKeyPairSync, createSign } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Webhooks } from "@octokit/webhooks";
import { ProbotOctokit } from "probot";
import { tryGit } from "../../helpers/git-repo.ts";
import { loadGitHubOpenApi } from "./load-github-openapi.ts";
import { startGitHubStandIn, type GitHubStandIn } from "./start-github-stand-in.ts";

const appId = 4242;
const webhookSecret = "stand-in-webhook-secret";
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function makeKeys() {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

function signJwt(privateKey: string, claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}`;
  const signature = createSign("RSA-SHA256").update(unsigned).sign(privateKey).toString("base64url");
  return `${unsigned}.${signature}`;
}

describe("GitHub stand-in", () => {
  const keys = makeKeys();
  let gh: GitHubStandIn;
  let work: string;
  let firstStartMs = 0;
  let app: InstanceType<typeof ProbotOctokit>;
  let inst: InstanceType<typeof ProbotOctokit>;

  const octokit = (auth: Record<string, unknown>) =>
    new ProbotOctokit({
      baseUrl: gh.apiUrl,
      auth,
      log: quiet,
      retry: { enabled: false },
      throttle: { enabled: false },
    });
  const basicHeader = (token: string) =>
    `http.extraHeader=Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
  const mintToken = async (body: Record<string, unknown>) =>
    (
      await app.request("POST /app/installations/{installation_id}/access_tokens", {
        installation_id: 1,
        ...body,
      })
    ).data;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "github-stand-in-test-"));
    const started = performance.now();
    gh = await startGitHubStandIn({
      appId,
      publicKeyPem: keys.publicKey,
      webhookSecret,
    });
    firstStartMs = performance.now() - started;
    gh.createInstallation({ id: 1, account: "octo-org" });
    gh.createInstallation({ id: 2, account: "someone-else" });
    await gh.createRepo({
      owner: "octo-org",
      name: "demo",
      installationId: 1,
      files: { "README.md": "# demo\n", ".github/airlock.yml": "budget:\n  usd: 2\n", "src/a.txt": "a\n" },
    });
    await gh.createRepo({ owner: "octo-org", name: "second", installationId: 1 });
    await gh.createRepo({ owner: "someone-else", name: "theirs", installationId: 2 });
    gh.setPermission("octo-org/demo", "maintainer", "write");
    gh.setPermission("octo-org/demo", "reader", "read");
    app = octokit({ appId, privateKey: keys.privateKey });
    inst = octokit({ appId, privateKey: keys.privateKey, installationId: 1 });
  });

  after(async () => {
    await gh.close();
    await rm(work, { recursive: true, force: true });
  });

  it("close() throws on a violation nobody took, and not once the test took it", async () => {
    const strict = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKey, webhookSecret });
    const lenient = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKey, webhookSecret });
    for (const stub of [strict, lenient]) {
      const answer = await fetch(`${stub.apiUrl}/app`, { headers: { "user-agent": "stand-in-test" } });
      assert.equal(answer.status, 401);
      await answer.text();
    }
    await assert.rejects(strict.close(), /saw 1 violation\(s\)[\s\S]*unauthorized GET \/app/);
    assert.deepEqual(
      lenient.takeViolations().map((v) => v.kind),
      ["unauthorized"],
    );
    await lenient.close();
  });

  it("loads GitHub's description once per process and starts a second stand-in fast", async (t) => {
    const openApi = await loadGitHubOpenApi();
    const started = performance.now();
    const second = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKey, webhookSecret });
    const secondStartMs = performance.now() - started;
    await second.close();
    t.diagnostic(
      `spec parse ${openApi.timings.parseMs.toFixed(0)} ms, backend init ${openApi.timings.initMs.toFixed(0)} ms, ` +
        `first start ${firstStartMs.toFixed(0)} ms, second start ${secondStartMs.toFixed(0)} ms, ` +
        `${openApi.documented.length} documented operations`,
    );
    assert.ok(openApi.documented.length > 800, "the full description was read");
    const good = {
      id: 1,
      node_id: "x",
      name: "n",
      url: "http://127.0.0.1/labels/n",
      color: "ffffff",
      default: false,
      description: null,
    };
    assert.equal(openApi.backend.validateResponse(good, "issues/create-label", 201).valid, true);
    const { node_id: _dropped, ...missingNodeId } = good;
    assert.equal(openApi.backend.validateResponse(missingNodeId, "issues/create-label", 201).valid, false);
    assert.ok(secondStartMs < 500, `second start took ${secondStartMs} ms`);
  });

  it("mints installation tokens for a real app JWT, scoped to the repositories and permissions asked", async () => {
    const { data: me } = await app.request("GET /app");
    assert.equal(me?.id, appId);
    assert.equal(me?.slug, "airlock-test");
    const { data: installations } = await app.request("GET /app/installations");
    assert.deepEqual(
      installations.map((i) => i.id),
      [1, 2],
    );
    const { data: found } = await app.request("GET /repos/{owner}/{repo}/installation", {
      owner: "octo-org",
      repo: "demo",
    });
    assert.equal(found.id, 1);

    const token = await mintToken({
      repositories: ["demo"],
      permissions: { issues: "write", metadata: "read" },
    });
    assert.match(token.token, /^ghs_/);
    assert.deepEqual(token.permissions, { issues: "write", metadata: "read" });
    assert.equal(token.repository_selection, "selected");
    assert.deepEqual(
      token.repositories?.map((r) => r.full_name),
      ["octo-org/demo"],
    );
    const lifetime = Date.parse(token.expires_at) - Date.now();
    assert.ok(lifetime > 59 * 60_000 && lifetime <= 60 * 60_000, `expires in ${lifetime} ms`);

    const all = await mintToken({});
    const stored = gh.state.tokens.find((t) => t.token === all.token);
    assert.equal(
      stored?.repositoryIds.length,
      2,
      "a token minted without a list reaches every installed repo",
    );

    await assert.rejects(
      mintToken({ permissions: { administration: "write" } }),
      (error: { status: number }) => error.status === 422,
    );
    await assert.rejects(
      mintToken({ repositories: ["theirs"] }),
      (error: { status: number }) => error.status === 422,
    );
    assert.deepEqual(gh.takeViolations(), []);
  });

  it("refuses forged, expired and over-long JWTs, and records them", async () => {
    const now = Math.floor(Date.now() / 1000);
    const other = makeKeys();
    const cases = [
      signJwt(other.privateKey, { iss: appId, iat: now - 30, exp: now + 500 }),
      signJwt(keys.privateKey, { iss: appId, iat: now - 700, exp: now - 60 }),
      signJwt(keys.privateKey, { iss: String(appId), iat: now - 30, exp: now + 3600 }),
      signJwt(keys.privateKey, { iss: appId + 1, iat: now - 30, exp: now + 500 }),
      // An unsigned token ("alg": "none") must never pass for the app.
      `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: appId, iat: now - 30, exp: now + 500 })).toString("base64url")}.`,
    ];
    for (const jwt of cases) {
      const response = await fetch(`${gh.apiUrl}/app`, {
        headers: { authorization: `Bearer ${jwt}`, "user-agent": "test" },
      });
      assert.equal(response.status, 401);
      const body = (await response.json()) as { message: string; documentation_url: string };
      assert.ok(body.message.length > 0 && body.documentation_url.startsWith("https://docs.github.com/"));
    }
    const good = signJwt(keys.privateKey, { iss: String(appId), iat: now - 30, exp: now + 540 });
    const ok = await fetch(`${gh.apiUrl}/app`, {
      headers: { authorization: `Bearer ${good}`, "user-agent": "t" },
    });
    assert.equal(ok.status, 200);
    const violations = gh.takeViolations();
    assert.equal(violations.length, 5);
    assert.ok(violations.every((v) => v.kind === "unauthorized" && v.path === "/app"));
  });

  it("answers undocumented, unimplemented and invalid requests like GitHub and records each", async () => {
    await assert.rejects(
      inst.request("GET /repos/{owner}/{repo}/no-such-thing", { owner: "octo-org", repo: "demo" }),
      {
        status: 404,
      },
    );
    await assert.rejects(
      inst.request("GET /repos/{owner}/{repo}/releases", { owner: "octo-org", repo: "demo" }),
      {
        status: 404,
      },
    );
    await assert.rejects(
      inst.request("POST /repos/{owner}/{repo}/labels", {
        owner: "octo-org",
        repo: "demo",
        name: 5 as never,
      }),
      { status: 422 },
    );
    await assert.rejects(
      inst.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
        owner: "octo-org",
        repo: "demo",
        issue_number: 1,
        bodyy: "typo",
      } as never),
      { status: 422 },
    );
    await assert.rejects(
      inst.request("GET /repos/{owner}/{repo}/pulls", {
        owner: "octo-org",
        repo: "demo",
        per_page: "lots" as never,
      }),
      { status: 422 },
    );
    const violations = gh.takeViolations();
    assert.deepEqual(
      violations.map((v) => v.kind),
      ["undocumented", "unimplemented", "invalid", "invalid", "invalid"],
    );
    assert.match(violations[1]?.detail ?? "", /repos\/list-releases/);
    assert.match(violations[2]?.detail ?? "", /must be string/);
    assert.match(violations[3]?.detail ?? "", /"bodyy"/);
  });

  it("keeps issues, comments, labels, reactions, check runs and permissions so later reads see earlier writes", async () => {
    const issue = gh.createIssue("octo-org/demo", { title: "Fix it", body: "Please", user: "maintainer" });
    const seeded = gh.addIssueComment("octo-org/demo", issue.number, { body: "first", user: "maintainer" });
    const base = { owner: "octo-org", repo: "demo" };

    const { data: created } = await inst.rest.issues.createComment({
      ...base,
      issue_number: issue.number,
      body: "working on it",
    });
    assert.equal(created.user?.login, "airlock-test[bot]");
    assert.equal(created.user?.type, "Bot");
    const { data: listed } = await inst.rest.issues.listComments({
      ...base,
      issue_number: issue.number,
      per_page: 1,
    });
    assert.deepEqual(
      listed.map((c) => c.id),
      [seeded.id],
    );
    const everything = await inst.paginate(inst.rest.issues.listComments, {
      ...base,
      issue_number: issue.number,
      per_page: 1,
    });
    assert.deepEqual(
      everything.map((c) => c.body),
      ["first", "working on it"],
    );
    await inst.rest.issues.updateComment({ ...base, comment_id: created.id, body: "done" });
    assert.equal((await inst.rest.issues.getComment({ ...base, comment_id: created.id })).data.body, "done");
    await inst.rest.issues.deleteComment({ ...base, comment_id: created.id });
    await assert.rejects(inst.rest.issues.getComment({ ...base, comment_id: created.id }), { status: 404 });

    const first = await inst.rest.reactions.createForIssueComment({
      ...base,
      comment_id: seeded.id,
      content: "eyes",
    });
    const again = await inst.rest.reactions.createForIssueComment({
      ...base,
      comment_id: seeded.id,
      content: "eyes",
    });
    assert.equal(first.status, 201);
    assert.equal(again.status, 200);
    assert.equal(again.data.id, first.data.id);
    assert.equal(
      (await inst.rest.reactions.createForIssue({ ...base, issue_number: issue.number, content: "rocket" }))
        .status,
      201,
    );

    await inst.rest.issues.addLabels({ ...base, issue_number: issue.number, labels: ["airlock:builtin"] });
    const { data: withLabel } = await inst.rest.issues.get({ ...base, issue_number: issue.number });
    assert.deepEqual(
      withLabel.labels.map((l) => (typeof l === "string" ? l : l.name)),
      ["airlock:builtin"],
    );
    assert.equal(withLabel.pull_request, undefined);
    await inst.rest.issues.removeLabel({ ...base, issue_number: issue.number, name: "airlock:builtin" });
    const { data: closed } = await inst.rest.issues.update({
      ...base,
      issue_number: issue.number,
      state: "closed",
    });
    assert.equal(closed.state, "closed");
    assert.equal(gh.state.issues.find((i) => i.id === issue.id)?.state, "closed");
    assert.deepEqual(gh.state.issues.find((i) => i.id === issue.id)?.labels, []);
    await assert.rejects(
      inst.rest.issues.removeLabel({ ...base, issue_number: issue.number, name: "nope" }),
      {
        status: 404,
      },
    );

    const { data: label } = await inst.rest.issues.createLabel({
      ...base,
      name: "airlock:run",
      color: "5319e7",
    });
    assert.equal(label.name, "airlock:run");
    const duplicate = await inst.rest.issues
      .createLabel({ ...base, name: "AIRLOCK:RUN" })
      .catch((e: unknown) => e);
    assert.equal((duplicate as { status: number }).status, 422);
    assert.deepEqual((duplicate as { response: { data: { errors: unknown[] } } }).response.data.errors, [
      { resource: "Label", code: "already_exists", field: "name" },
    ]);
    const { data: labels } = await inst.rest.issues.listLabelsForRepo(base);
    assert.ok(labels.some((l) => l.name === "airlock:run"));

    const { data: perm } = await inst.rest.repos.getCollaboratorPermissionLevel({
      ...base,
      username: "maintainer",
    });
    assert.equal(perm.permission, "write");
    assert.equal(perm.role_name, "write");
    assert.equal(perm.user?.login, "maintainer");
    const reader = await inst.rest.repos.getCollaboratorPermissionLevel({ ...base, username: "reader" });
    assert.equal(reader.data.permission, "read");
    gh.createUser("stranger");
    const stranger = await inst.rest.repos.getCollaboratorPermissionLevel({ ...base, username: "stranger" });
    assert.equal(stranger.data.permission, "none");

    const sha = (await gh.readBranch("octo-org/demo", "main"))?.sha ?? "";
    const { data: check } = await inst.rest.checks.create({
      ...base,
      name: "airlock",
      head_sha: sha,
      status: "in_progress",
    });
    await inst.rest.checks.update({
      ...base,
      check_run_id: check.id,
      conclusion: "success",
      output: { title: "Done", summary: "All good" },
    });
    const stored = gh.state.checkRuns.find((r) => r.id === check.id);
    assert.equal(stored?.status, "completed");
    assert.equal(stored?.conclusion, "success");
    assert.equal(stored?.output.summary, "All good");
    await assert.rejects(inst.rest.checks.create({ ...base, name: "x", head_sha: "0".repeat(40) }), {
      status: 422,
    });

    const { data: file } = await inst.rest.repos.getContent({ ...base, path: ".github/airlock.yml" });
    assert.ok(!Array.isArray(file) && file.type === "file");
    assert.equal(Buffer.from(file.content, "base64").toString(), "budget:\n  usd: 2\n");
    const { config } = await inst.config.get({ ...base, path: ".github/airlock.yml" });
    assert.deepEqual(config, { budget: { usd: 2 } });
    await assert.rejects(inst.rest.repos.getContent({ ...base, path: "missing.txt" }), { status: 404 });
    const { data: dir } = await inst.rest.repos.getContent({ ...base, path: "src" });
    assert.ok(Array.isArray(dir) && dir[0]?.path === "src/a.txt");

    assert.ok(
      gh.requests
        .filter((r) => r.status < 300)
        .every((r) => r.operationId !== undefined && r.actor !== undefined),
    );
    assert.ok(
      gh.requests.some((r) => r.operationId === "issues/create-comment" && r.actor === "airlock-test[bot]"),
    );
    assert.deepEqual(gh.takeViolations(), []);
  });

  it("enforces a token's repositories, permissions and lifetime", async () => {
    const scoped = await mintToken({
      repositories: ["demo"],
      permissions: { issues: "read", metadata: "read" },
    });
    const withToken = octokit({ token: scoped.token });
    await withToken.rest.issues.listLabelsForRepo({ owner: "octo-org", repo: "demo" });
    await assert.rejects(withToken.rest.repos.get({ owner: "octo-org", repo: "second" }), { status: 404 });
    await assert.rejects(withToken.rest.repos.get({ owner: "someone-else", repo: "theirs" }), {
      status: 404,
    });
    await assert.rejects(withToken.rest.issues.createLabel({ owner: "octo-org", repo: "demo", name: "x" }), {
      status: 403,
    });
    await assert.rejects(withToken.request("GET /app"), { status: 401 });
    // A repository that does not exist is a plain 404, as when Probot looks for `owner/.github`.
    await assert.rejects(withToken.rest.repos.get({ owner: "octo-org", repo: ".github" }), { status: 404 });
    const stored = gh.state.tokens.find((t) => t.token === scoped.token);
    assert.ok(stored);
    stored.expiresAt = new Date(Date.now() - 1000);
    await assert.rejects(withToken.rest.repos.get({ owner: "octo-org", repo: "demo" }), { status: 401 });
    const violations = gh.takeViolations();
    assert.deepEqual(
      violations.map((v) => v.kind),
      ["unauthorized", "unauthorized", "unauthorized", "unauthorized", "unauthorized"],
    );
    assert.match(violations[2]?.detail ?? "", /issues: write/);
  });

  it("serves git over smart HTTP to installation tokens only, pushes needing contents: write", async () => {
    const { token } = await mintToken({ repositories: ["demo"] });
    const clone = join(work, "clone");
    const url = `${gh.apiUrl}/git/octo-org/demo.git`;
    const anonymous = await tryGit(work, ["clone", "--quiet", url, join(work, "anon")]);
    assert.notEqual(anonymous.code, 0, "clone without credentials is refused");
    assert.equal(gh.violations.length, 0, "an anonymous probe is what git always does first");

    assert.equal((await tryGit(work, ["-c", basicHeader(token), "clone", "--quiet", url, clone])).code, 0);
    assert.equal(await readFile(join(clone, "src/a.txt"), "utf8"), "a\n");
    await tryGit(clone, ["checkout", "--quiet", "-b", "feature"]);
    await writeFile(join(clone, "src/a.txt"), "changed\n");
    await tryGit(clone, ["commit", "--quiet", "-am", "Change a\n\nAirlock-Run: r1"]);
    const pushed = await tryGit(clone, ["-c", basicHeader(token), "push", "--quiet", "origin", "feature"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const branch = await gh.readBranch("octo-org/demo", "feature");
    assert.equal(branch?.files["src/a.txt"], "changed\n");
    assert.match(branch?.message ?? "", /^Airlock-Run: r1$/m);
    assert.equal(branch?.parent, (await gh.readBranch("octo-org/demo", "main"))?.sha);
    assert.ok(
      gh.gitRequests.some((r) => r.service === "git-receive-pack" && r.token === token && r.status === 200),
    );
    assert.deepEqual(gh.takeViolations(), []);

    const readOnly = await mintToken({
      repositories: ["demo"],
      permissions: { contents: "read", metadata: "read" },
    });
    await tryGit(clone, ["commit", "--quiet", "--allow-empty", "-m", "more"]);
    const refused = await tryGit(clone, [
      "-c",
      basicHeader(readOnly.token),
      "push",
      "--quiet",
      "origin",
      "feature",
    ]);
    assert.notEqual(refused.code, 0);
    const other = await mintToken({ repositories: ["second"] });
    const elsewhere = await tryGit(work, [
      "-c",
      basicHeader(other.token),
      "clone",
      "--quiet",
      url,
      join(work, "x"),
    ]);
    assert.notEqual(elsewhere.code, 0);
    const violations = gh.takeViolations();
    assert.ok(
      violations.some((v) => /contents: write/.test(v.detail)),
      JSON.stringify(violations),
    );
    assert.ok(
      violations.some((v) => /does not cover octo-org\/demo/.test(v.detail)),
      JSON.stringify(violations),
    );
    assert.ok(violations.every((v) => v.kind === "unauthorized"));
  });

  it("opens pull requests only from existing branches, once per head, numbered with the issues", async () => {
    const base = { owner: "octo-org", repo: "demo" };
    const missing = await inst.rest.pulls
      .create({ ...base, head: "nope", base: "main", title: "x" })
      .catch((e: unknown) => e as { status: number; response: { data: { errors: unknown[] } } });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.response.data.errors, [
      { resource: "PullRequest", field: "head", code: "invalid" },
    ]);

    const issuesBefore = gh.state.issues.filter((i) => i.repo === "octo-org/demo").length;
    const { data: pr } = await inst.rest.pulls.create({
      ...base,
      head: "feature",
      base: "main",
      title: "Change a",
      body: "Fixes #1",
      draft: true,
    });
    assert.equal(pr.number, issuesBefore + 1);
    assert.equal(pr.draft, true);
    assert.equal(pr.head.ref, "feature");
    assert.equal(pr.user?.login, "airlock-test[bot]");
    assert.equal(gh.state.pulls.find((p) => p.number === pr.number)?.body, "Fixes #1");
    const duplicate = await inst.rest.pulls
      .create({ ...base, head: "octo-org:feature", base: "main", title: "again" })
      .catch((e: unknown) => e as { status: number; response: { data: { errors: { message: string }[] } } });
    assert.equal(duplicate.status, 422);
    assert.equal(
      duplicate.response.data.errors[0]?.message,
      "A pull request already exists for octo-org:feature.",
    );

    const { data: found } = await inst.rest.pulls.list({ ...base, head: "octo-org:feature", state: "open" });
    assert.deepEqual(
      found.map((p) => p.number),
      [pr.number],
    );
    assert.deepEqual((await inst.rest.pulls.list({ ...base, head: "octo-org:other" })).data, []);
    const { data: asIssue } = await inst.rest.issues.get({ ...base, issue_number: pr.number });
    assert.ok(asIssue.pull_request?.url?.endsWith(`/pulls/${pr.number}`));
    await inst.rest.issues.createComment({ ...base, issue_number: pr.number, body: "on the PR" });
    await inst.rest.pulls.update({ ...base, pull_number: pr.number, body: "Fixes #1\n\nupdated" });
    assert.equal(
      (await inst.rest.pulls.get({ ...base, pull_number: pr.number })).data.body,
      "Fixes #1\n\nupdated",
    );

    const { data: onBranch } = await inst.rest.repos.getContent({
      ...base,
      path: "src/a.txt",
      ref: "feature",
    });
    assert.ok(!Array.isArray(onBranch) && onBranch.type === "file");
    assert.equal(Buffer.from(onBranch.content, "base64").toString(), "changed\n");
    assert.equal(pr.head.sha, (await gh.readBranch("octo-org/demo", "feature"))?.sha);

    const { data: review } = await inst.rest.pulls.createReview({
      ...base,
      pull_number: pr.number,
      event: "COMMENT",
      body: "Notes",
      comments: [{ path: "src/a.txt", line: 1, body: "here" }],
    });
    assert.equal(review.state, "COMMENTED");
    await assert.rejects(
      inst.rest.pulls.createReview({ ...base, pull_number: pr.number, event: "APPROVE" }),
      {
        status: 422,
      },
    );
    const human = gh.addReviewComment("octo-org/demo", pr.number, {
      body: "/airlock again",
      user: "maintainer",
      path: "src/a.txt",
      line: 1,
    });
    const { data: comments } = await inst.rest.pulls.listReviewComments({ ...base, pull_number: pr.number });
    assert.deepEqual(
      comments.map((c) => c.body),
      ["here", "/airlock again"],
    );
    assert.equal(
      (await inst.rest.pulls.getReviewComment({ ...base, comment_id: human.id })).data.user.login,
      "maintainer",
    );
    const { data: reply } = await inst.rest.pulls.createReplyForReviewComment({
      ...base,
      pull_number: pr.number,
      comment_id: human.id,
      body: "on it",
    });
    assert.equal(reply.in_reply_to_id, human.id);
    const reaction = await inst.rest.reactions.createForPullRequestReviewComment({
      ...base,
      comment_id: human.id,
      content: "eyes",
    });
    assert.equal(reaction.status, 201);
    const { data: reviews } = await inst.rest.pulls.listReviews({ ...base, pull_number: pr.number });
    assert.equal(reviews.length, 2);
    assert.deepEqual(gh.takeViolations(), []);
  });

  it("delivers webhooks that @octokit/webhooks verifies, with GitHub's headers, and signs with a wrong secret on request", async () => {
    const received: { name: string; id: string; payload: Record<string, unknown> }[] = [];
    const headersSeen: Record<string, string | string[] | undefined>[] = [];
    const webhooks = new Webhooks({ secret: webhookSecret });
    webhooks.onAny((event) => {
      received.push({ name: event.name, id: event.id, payload: event.payload as Record<string, unknown> });
    });
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        headersSeen.push(req.headers);
        webhooks
          .verifyAndReceive({
            id: String(req.headers["x-github-delivery"]),
            name: String(req.headers["x-github-event"]) as never,
            signature: String(req.headers["x-hub-signature-256"]),
            payload: Buffer.concat(chunks).toString("utf8"),
          })
          .then(
            () => res.writeHead(200).end("ok"),
            (error: Error) => res.writeHead(400).end(error.message),
          );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      gh.setWebhookUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`);
      const issue = gh.createIssue("octo-org/demo", {
        title: "Hook",
        user: "maintainer",
        labels: ["airlock:builtin"],
      });
      const comment = gh.addIssueComment("octo-org/demo", issue.number, {
        body: "/airlock go",
        user: "maintainer",
      });
      const pull = gh.state.pulls.find((p) => p.repo === "octo-org/demo");
      assert.ok(pull);
      const prComment = gh.addIssueComment("octo-org/demo", pull.number, {
        body: "/airlock stop",
        user: "maintainer",
      });
      const review = gh.state.reviewComments.find((c) => c.pullNumber === pull.number);
      assert.ok(review);
      const deliveries: [string, Record<string, unknown>][] = [
        [
          "issues",
          gh.payloads.issuesLabeled({
            repo: "octo-org/demo",
            issue: issue.number,
            label: "airlock:builtin",
            sender: "maintainer",
          }),
        ],
        [
          "issue_comment",
          gh.payloads.issueCommentCreated({
            repo: "octo-org/demo",
            issue: issue.number,
            comment: comment.id,
          }),
        ],
        [
          "issue_comment",
          gh.payloads.issueCommentCreated({
            repo: "octo-org/demo",
            issue: pull.number,
            comment: prComment.id,
          }),
        ],
        [
          "pull_request_review_comment",
          gh.payloads.pullRequestReviewCommentCreated({
            repo: "octo-org/demo",
            pull: pull.number,
            comment: review.id,
          }),
        ],
        ["installation", gh.payloads.installationCreated({ installation: 1, sender: "octo-org" })],
        [
          "installation_repositories",
          gh.payloads.installationRepositoriesAdded({
            installation: 1,
            repos: ["octo-org/second"],
            sender: "octo-org",
          }),
        ],
      ];
      for (const [event, payload] of deliveries) {
        const result = await gh.deliver(event, payload);
        assert.equal(result.status, 200, result.body);
        assert.match(result.deliveryId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      }
      assert.deepEqual(
        received.map((r) => `${r.name}.${String(r.payload.action)}`),
        [
          "issues.labeled",
          "issue_comment.created",
          "issue_comment.created",
          "pull_request_review_comment.created",
          "installation.created",
          "installation_repositories.added",
        ],
      );
      const [labeled, onIssue, onPull, onReview, installed, added] = received.map((r) => r.payload);
      assert.deepEqual(labeled?.installation, {
        id: 1,
        node_id: (labeled?.installation as { node_id: string }).node_id,
      });
      const repository = labeled?.repository as Record<string, unknown>;
      assert.equal(repository.full_name, "octo-org/demo");
      assert.equal(repository.clone_url, `${gh.apiUrl}/git/octo-org/demo.git`);
      assert.equal(repository.default_branch, "main");
      assert.equal((labeled?.label as { name: string }).name, "airlock:builtin");
      assert.equal((labeled?.sender as { login: string }).login, "maintainer");
      assert.equal((labeled?.issue as { number: number }).number, issue.number);
      assert.equal((onIssue?.comment as { id: number; body: string }).id, comment.id);
      assert.equal((onIssue?.issue as Record<string, unknown>).pull_request, undefined);
      assert.ok(
        (onPull?.issue as Record<string, unknown>).pull_request !== undefined,
        "a PR comment has pull_request",
      );
      assert.equal((onReview?.comment as { body: string }).body, review.body);
      assert.equal((onReview?.pull_request as { head: { ref: string } }).head.ref, "feature");
      assert.equal((installed?.installation as { id: number }).id, 1);
      assert.deepEqual(
        (added?.repositories_added as { full_name: string }[]).map((r) => r.full_name),
        ["octo-org/second"],
      );
      const headers = headersSeen[0] ?? {};
      assert.equal(headers["x-github-hook-installation-target-type"], "integration");
      assert.equal(headers["x-github-hook-installation-target-id"], String(appId));
      assert.match(String(headers["x-github-hook-id"]), /^\d+$/);
      assert.match(String(headers["user-agent"]), /^GitHub-Hookshot\/[0-9a-f]+$/);
      assert.match(String(headers["x-hub-signature"]), /^sha1=[0-9a-f]{40}$/);
      assert.equal(headers["content-type"], "application/json");
      assert.deepEqual(gh.takeViolations(), [], "every payload matches GitHub's x-webhooks schema");

      const forged = await gh.deliver("issues", deliveries[0]?.[1] ?? {}, {
        secret: "wrong",
        deliveryId: "fixed-id",
      });
      assert.equal(forged.status, 400);
      assert.equal(forged.deliveryId, "fixed-id");
      assert.match(forged.body, /signature does not match/);
      assert.equal(received.length, 6);

      const broken = gh.payloads.issuesLabeled({
        repo: "octo-org/demo",
        issue: issue.number,
        label: "airlock:builtin",
        sender: "maintainer",
      });
      delete broken.issue;
      await gh.deliver("issues", broken);
      const [drift] = gh.takeViolations();
      assert.equal(drift?.kind, "invalid");
      assert.match(drift?.detail ?? "", /required property 'issue'/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("answered every request of the flows above with shapes that match GitHub's response schemas", () => {
    assert.deepEqual(
      gh.violations.filter((v) => v.kind === "response"),
      [],
    );
    const covered = new Set(gh.requests.filter((r) => r.status < 300).map((r) => r.operationId));
    for (const operationId of [
      "pulls/create",
      "pulls/get",
      "issues/get",
      "issues/create-comment",
      "repos/get-content",
    ]) {
      assert.ok(covered.has(operationId), `${operationId} was exercised`);
    }
  });
});
