import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { createRefusalDesk } from "../../app/replies/create-refusal-desk.ts";
import type { Database } from "../../core/db/open-database.ts";
import { runs, webhookDeliveries } from "../../core/db/schema.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { serveAppOverHttp, type AppOverHttp } from "./serve-app-over-http.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";

/**
 * The app as deployed: signed webhooks POSTed to Probot's HTTP middleware, GitHub calls made
 * through the one Octokit adapter against the strict stand-in, which validates each request
 * against GitHub's OpenAPI description (a wrong route or body is a violation).
 */
const appId = 4343;
const webhookSecret = "app-over-http-webhook-secret";
const installationId = 808;
const [kind] = testDatabaseKinds();

describe("the Airlock app over HTTP against the GitHub stand-in", () => {
  let gh: GitHubStandIn;
  let app: AppOverHttp;
  let database: Database;
  const owner = `org-${randomBytes(3).toString("hex")}`;
  // Octokit's throttle is off here, so refusals need no gap between them.
  const refusals = createRefusalDesk({ gapMs: 0 });

  before(async () => {
    const { privateKey, publicKeyPem } = generateAppKeys();
    gh = await startGitHubStandIn({ appId, publicKeyPem, webhookSecret });
    gh.createInstallation({ id: installationId, account: owner });
    // All repositories exist before the first installation token is minted (and cached by
    // Probot): the stand-in, like GitHub, scopes a token to the repositories of its time.
    await newRepo("flow", { ".github/airlock.yml": "budget:\n  usd: 1.5\n" });
    await newRepo("forged");
    database = await kind!.open();
    app = await serveAppOverHttp({
      gh,
      appId,
      privateKey,
      webhookSecret,
      db: database.db,
      tokenSecret: "over-http-token-secret-0123456789",
      refusals,
      throttle: false,
    });
  });

  after(async () => {
    await app?.close();
    await database?.close();
    // Last: it throws when the stand-in saw a violation.
    await gh?.close();
  });

  async function newRepo(name: string, files: Record<string, string> = {}) {
    const full = `${owner}/${name}`;
    await gh.createRepo({ owner, name, installationId, files: { "README.md": "# demo\n", ...files } });
    gh.setPermission(full, "maintainer", "write");
    gh.setPermission(full, "reader", "read");
    return full;
  }

  it("installation labels, a maintainer's label, a reader's refusal and /airlock stop, with no request GitHub would refuse", async () => {
    const full = `${owner}/flow`;
    const installed = await gh.deliver(
      "installation_repositories",
      gh.payloads.installationRepositoriesAdded({
        installation: installationId,
        repos: [full],
        sender: "maintainer",
      }),
    );
    assert.equal(installed.status, 200, installed.body);
    assert.deepEqual(
      gh.state.labels.filter((l) => l.repo === full).map((l) => [l.name, l.color]),
      [["airlock:builtin", "5319e7"]],
    );

    const issue = gh.createIssue(full, {
      title: "Greet the world",
      body: "Say hello, world.",
      user: "maintainer",
    });
    const labeled = await gh.deliverLabeled({
      repo: full,
      issue: issue.number,
      label: "airlock:builtin",
      sender: "maintainer",
    });
    assert.equal(labeled.status, 200, labeled.body);
    const [run] = await database.db.select().from(runs).where(eq(runs.repo, full));
    assert.ok(run, "a run was recorded");
    assert.equal(run.budgetUsd, "1.500000");
    assert.equal(run.cloneUrl, gh.state.repos.get(full.toLowerCase())?.cloneUrl ?? run.cloneUrl);
    assert.match(run.prompt ?? "", /Say hello, world\./);
    assert.deepEqual(
      gh.state.reactions.filter((r) => r.repo === full).map((r) => [r.subject, r.content]),
      [[{ kind: "issue", issueNumber: issue.number }, "eyes"]],
    );
    const tracking = gh.state.comments.find((c) => c.repo === full && c.body.includes(run.id));
    assert.ok(tracking, "the tracking comment");
    assert.equal(
      tracking.id,
      (await database.db.select().from(runs).where(eq(runs.id, run.id)))[0]?.trackingCommentId,
    );

    const readerComment = gh.addIssueComment(full, issue.number, {
      body: "/airlock run do evil",
      user: "reader",
    });
    await gh.deliver(
      "issue_comment",
      gh.payloads.issueCommentCreated({
        repo: full,
        issue: issue.number,
        comment: readerComment.id,
        sender: "reader",
      }),
    );
    await refusals.idle();
    const refusal = gh.state.comments.find((c) => c.repo === full && c.body.startsWith("@reader"));
    assert.ok(refusal, "the reader got a reply");
    assert.match(refusal.body, /`write`/);

    const stop = gh.addIssueComment(full, issue.number, { body: "/airlock stop", user: "maintainer" });
    const deliveryId = randomUUID();
    const stopPayload = gh.payloads.issueCommentCreated({
      repo: full,
      issue: issue.number,
      comment: stop.id,
      sender: "maintainer",
    });
    await gh.deliver("issue_comment", stopPayload, { deliveryId });
    await gh.deliver("issue_comment", stopPayload, { deliveryId });
    const [stopped] = await database.db.select().from(runs).where(eq(runs.id, run.id));
    assert.equal(stopped?.state, "cancelled");
    assert.equal(stopped?.cancelRequestedBy, "maintainer");
    assert.deepEqual(
      gh.state.reactions
        .filter((r) => r.repo === full && r.subject.kind === "issue_comment")
        .map((r) => r.subject),
      [{ kind: "issue_comment", commentId: stop.id }],
    );
    assert.equal(
      (await database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId))).length,
      1,
    );
  });

  it("a delivery with a bad signature is refused before any handler runs", async () => {
    const full = `${owner}/forged`;
    await gh.deliver(
      "installation_repositories",
      gh.payloads.installationRepositoriesAdded({
        installation: installationId,
        repos: [full],
        sender: "maintainer",
      }),
    );
    const issue = gh.createIssue(full, { title: "x", body: "y", user: "maintainer" });
    const forged = await gh.deliverLabeled(
      {
        repo: full,
        issue: issue.number,
        label: "airlock:builtin",
        sender: "maintainer",
      },
      { secret: "not-the-secret" },
    );
    assert.ok(forged.status >= 400 && forged.status < 500, `answered ${forged.status}`);
    assert.deepEqual(await database.db.select().from(runs).where(eq(runs.repo, full)), []);
  });
});
