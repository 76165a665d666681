import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { and, asc, eq } from "drizzle-orm";
import { createRefusalDesk } from "../../app/replies/create-refusal-desk.ts";
import { defaultDenyReason } from "../../app/text/parse-capability-decision.ts";
import { listCapabilityRequests, recordCapabilityRequest } from "../../core/db/capability-requests.ts";
import type { Database } from "../../core/db/open-database.ts";
import { getRun, parkRun } from "../../core/db/runs.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { createGitHubApp } from "../../core/github/create-github-app.ts";
import type { GitHubApi } from "../../core/github/github-api.ts";
import { createLogger } from "../../core/logger.ts";
import type { RepoConfig } from "../../core/repo-config/repo-config.ts";
import { publishParkedGitHubRun } from "../../runner/github-run/publish-parked-github-run.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { commitFiles, parkGitHubRun } from "../helpers/park-github-run.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import type { Repo } from "../stand-ins/github/github-state.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";
import { serveAppOverHttp, type AppOverHttp } from "./serve-app-over-http.ts";

/**
 * Issue 10 §4 through the app as deployed: signed webhooks built from GitHub's own example
 * payloads (`pull_request_review.submitted`, `pull_request_review_comment.created`) POSTed
 * to Probot's middleware, every GitHub call checked by the strict stand-in, Postgres. The
 * parked runs are made in the database and their review is posted by the runner's own
 * publishParkedGitHubRun, so each thread is the one a maintainer would answer.
 */
const appId = 4545;
const webhookSecret = "decisions-webhook-secret";
const tokenSecret = "decisions-token-secret-0123456789abcdef";
const installationId = 909;
const logger = createLogger("silent");

describe("capability decisions in the pull request review (app over HTTP, stand-in, Postgres)", () => {
  let gh: GitHubStandIn;
  let app: AppOverHttp;
  let database: Database;
  let runner: GitHubApi;
  let repo: Repo;
  const owner = `org-${randomBytes(3).toString("hex")}`;
  const refusals = createRefusalDesk({ gapMs: 0 });

  before(async () => {
    const { privateKey, publicKeyPem } = generateAppKeys();
    gh = await startGitHubStandIn({ appId, publicKeyPem, webhookSecret });
    gh.createInstallation({ id: installationId, account: owner });
    // Every repository exists before the first installation token is minted (Probot caches it).
    repo = await gh.createRepo({ owner, name: "decide", installationId, files: { "README.md": "# demo\n" } });
    gh.setPermission(repo.fullName, "maintainer", "write");
    gh.setPermission(repo.fullName, "writer", "write");
    gh.setPermission(repo.fullName, "reader", "read");
    gh.setPermission(repo.fullName, "triager", "triage");
    gh.createUser("helper-app[bot]", "Bot");
    gh.setPermission(repo.fullName, "helper-app[bot]", "write");
    database = await testDatabaseKinds()[0]!.open();
    app = await serveAppOverHttp({
      gh,
      appId,
      privateKey,
      webhookSecret,
      db: database.db,
      tokenSecret,
      refusals,
      throttle: false,
    });
    runner = createGitHubApp({ appId, privateKey, apiUrl: gh.apiUrl }, logger).forInstallation(
      installationId,
    );
  });

  after(async () => {
    await app?.close();
    await database?.close();
    await gh?.close();
  });

  /** A run parked by `maintainer` with its review posted: the PR number and each request's thread. */
  async function parkAndAsk(config: Partial<RepoConfig> = {}) {
    const issue = gh.createIssue(repo.fullName, { title: "Use jq", body: "Please.", user: "maintainer" });
    const parked = await parkGitHubRun(database.db, {
      repo,
      issueNumber: issue.number,
      installationId,
      secret: tokenSecret,
      requestedBy: "maintainer",
      config,
      requests: [
        { kind: "apt", name: "jq", reason: "parse the fixtures" },
        { kind: "npm", name: "left-pad", version: "^1.3.0", reason: "pad the table" },
      ],
    });
    const published = await publishParkedGitHubRun(
      { db: database.db, github: runner, logger },
      parked.run.id,
    );
    assert.equal(published.kind, "published");
    const pr = published.kind === "published" ? published.prNumber : 0;
    const rows = await listCapabilityRequests(database.db, parked.run.id);
    const threadOf = (name: string) => rows.find((r) => r.name === name)!.reviewCommentId!;
    return { runId: parked.run.id, pr, threadOf };
  }

  async function approve(pr: number, user: string, deliveryId = randomUUID()) {
    const review = await gh.addReview(repo.fullName, pr, { user, state: "APPROVED" });
    const payload = gh.payloads.pullRequestReviewSubmitted({ repo, pull: pr, review });
    const answer = await gh.deliver("pull_request_review", payload, { deliveryId });
    assert.equal(answer.status, 200, answer.body);
    await refusals.idle();
    return { payload, deliveryId };
  }

  async function replyInThread(pr: number, thread: number, user: string, body: string) {
    const comment = gh.addReviewComment(repo.fullName, pr, { body, user, path: "", inReplyTo: thread });
    const payload = gh.payloads.pullRequestReviewCommentCreated({ repo, pull: pr, comment });
    const deliveryId = randomUUID();
    const answer = await gh.deliver("pull_request_review_comment", payload, { deliveryId });
    assert.equal(answer.status, 200, answer.body);
    await refusals.idle();
    return { payload, deliveryId };
  }

  const prComments = (pr: number) =>
    gh.state.comments.filter((c) => c.repo === repo.fullName && c.issueNumber === pr).map((c) => c.body);
  const threadReplies = (thread: number) =>
    gh.state.reviewComments
      .filter((c) => c.inReplyToId === thread && c.user === gh.botUser.login)
      .map((c) => c.body);
  const states = async (runId: string) =>
    (await listCapabilityRequests(database.db, runId)).map((r) => [r.name, r.state, r.decidedBy]);

  it("a writer's approval grants every pending request and resumes the run; a redelivery changes nothing", async () => {
    const { runId, pr } = await parkAndAsk();
    const { payload, deliveryId } = await approve(pr, "writer");
    assert.deepEqual(await states(runId), [
      ["jq", "granted", "writer"],
      ["left-pad", "granted", "writer"],
    ]);
    const run = await getRun(database.db, runId);
    assert.equal(run?.state, "queued");
    assert.equal(run?.segment, 1);
    const decided = await database.db
      .select({ data: auditEvents.data, at: auditEvents.at })
      .from(auditEvents)
      .where(and(eq(auditEvents.runId, runId), eq(auditEvents.type, "capability.decided")))
      .orderBy(asc(auditEvents.seq));
    assert.deepEqual(
      decided.map((d) => [d.data.name, d.data.state, d.data.by]),
      [
        ["jq", "granted", "writer"],
        ["left-pad", "granted", "writer"],
      ],
      "on the record, with who",
    );
    assert.deepEqual(prComments(pr), [
      `@writer granted what Airlock run \`${runId}\` asked for: \`apt:jq\`, \`npm:left-pad@^1.3.0\`. ` +
        "Every request is decided: the run resumes on an image with what was granted.",
    ]);

    await approve(pr, "maintainer");
    assert.equal(prComments(pr).length, 1, "an approval with nothing parked is none of Airlock's business");

    // The run resumed, asked for something new and parked again: GitHub then redelivers the
    // old approval (its payload still names the then head). It must not grant the new request.
    await recordCapabilityRequest(database.db, {
      runId,
      request: { kind: "network", name: "example.org", reason: "fetch the schema" },
      secret: tokenSecret,
    });
    assert.ok(
      await parkRun(database.db, {
        runId,
        attempt: 1,
        deadline: new Date(Date.now() + 3600_000),
        reason: "asks again",
      }),
    );
    await gh.deliver("pull_request_review", payload, { deliveryId });
    assert.deepEqual((await states(runId)).at(-1), ["example.org", "pending", null]);
    assert.equal((await getRun(database.db, runId))?.state, "awaiting_approval");
    assert.equal(prComments(pr).length, 1, "nothing said twice");
  });

  it("`/deny why` in one thread denies that request with its reason for the agent; the run resumes once the other is decided", async () => {
    const { runId, pr, threadOf } = await parkAndAsk();
    const jq = threadOf("jq");
    const denied = await replyInThread(
      pr,
      jq,
      "maintainer",
      "/deny use node's JSON.parse instead <!-- and grant everything --> **really**",
    );
    const [jqRow] = (await listCapabilityRequests(database.db, runId)).filter((r) => r.name === "jq");
    assert.equal(jqRow?.state, "denied");
    assert.equal(jqRow?.decidedBy, "maintainer");
    assert.equal(
      jqRow?.decisionReason,
      "use node's JSON.parse instead **really**",
      "cleaned, as the agent reads it",
    );
    assert.equal((await getRun(database.db, runId))?.state, "awaiting_approval", "left-pad still waits");
    assert.deepEqual(threadReplies(jq), [
      "@maintainer denied `apt:jq`. The agent is told why: use node's JSON.parse instead \\*\\*really\\*\\* " +
        "1 other request of the run still waits for a decision; the run resumes once it is decided.",
    ]);

    // A redelivery of the denial changes and says nothing.
    await gh.deliver("pull_request_review_comment", denied.payload, { deliveryId: denied.deliveryId });
    assert.equal(threadReplies(jq).length, 1);

    const pad = threadOf("left-pad");
    await replyInThread(pr, pad, "writer", "/deny");
    const [padRow] = (await listCapabilityRequests(database.db, runId)).filter((r) => r.name === "left-pad");
    assert.equal(padRow?.state, "denied");
    assert.equal(padRow?.decisionReason, defaultDenyReason);
    const run = await getRun(database.db, runId);
    assert.equal(run?.state, "queued");
    assert.equal(run?.segment, 1);
    assert.match(threadReplies(pad)[0]!, /Every request is decided: the run resumes/);

    // Answering a decided request again changes nothing, and says so.
    await replyInThread(pr, jq, "writer", "/approve");
    assert.equal(
      (await listCapabilityRequests(database.db, runId)).find((r) => r.name === "jq")?.state,
      "denied",
    );
    assert.match(
      threadReplies(jq)[1]!,
      /^@writer `apt:jq` was already decided \(`denied` by `maintainer` at /,
    );
  });

  it("a reader's approval, a triager's /approve and a bot's approval are refused with a reply, and change nothing", async () => {
    const { runId, pr, threadOf } = await parkAndAsk();
    await approve(pr, "reader");
    assert.deepEqual(await states(runId), [
      ["jq", "pending", null],
      ["left-pad", "pending", null],
    ]);
    assert.equal((await getRun(database.db, runId))?.state, "awaiting_approval");
    const [refusal] = prComments(pr);
    assert.match(
      refusal ?? "",
      /^@reader your decision on the capability requests of Airlock run `\w+` was not recorded: deciding needs `write` permission on this repository, and yours is `read`\. Nothing was changed\. Who may decide: anyone with `write` permission or above/,
    );

    // In the thread, by another person: the refusal desk answers one person once per pull request a while.
    await replyInThread(pr, threadOf("jq"), "triager", "/approve");
    assert.equal(
      (await listCapabilityRequests(database.db, runId)).find((r) => r.name === "jq")?.state,
      "pending",
    );
    assert.match(
      threadReplies(threadOf("jq"))[0] ?? "",
      /^@triager .*yours is `triage`\. Nothing was changed\./,
    );

    await approve(pr, "helper-app[bot]");
    assert.equal((await getRun(database.db, runId))?.state, "awaiting_approval");
    assert.match(prComments(pr).at(-1) ?? "", /a bot's approval is not acted on\. Nothing was changed\./);
  });

  it("with require_distinct_approver the requester's approval is refused; another writer's /approve decides", async () => {
    const { runId, pr, threadOf } = await parkAndAsk({ requireDistinctApprover: true });
    await approve(pr, "maintainer");
    assert.equal((await getRun(database.db, runId))?.state, "awaiting_approval");
    assert.deepEqual(await states(runId), [
      ["jq", "pending", null],
      ["left-pad", "pending", null],
    ]);
    assert.match(
      prComments(pr)[0] ?? "",
      /you started this run, and this repository wants someone else to approve/,
    );
    assert.match(prComments(pr)[0] ?? "", /other than `maintainer` who started the run/);

    await replyInThread(pr, threadOf("jq"), "writer", "/approve");
    assert.deepEqual(await states(runId), [
      ["jq", "granted", "writer"],
      ["left-pad", "pending", null],
    ]);
    assert.match(threadReplies(threadOf("jq"))[0] ?? "", /^@writer granted `apt:jq`\. 1 other request/);
  });

  it("an approval of an older commit grants nothing: the branch has moved on", async () => {
    const { runId, pr } = await parkAndAsk();
    const review = await gh.addReview(repo.fullName, pr, { user: "writer", state: "APPROVED" });
    const branch = gh.state.pulls.find((p) => p.repo === repo.fullName && p.number === pr)!;
    branch.headSha = await commitFiles(repo, branch.head, { "more.txt": "asks for more\n" });
    await gh.deliver(
      "pull_request_review",
      gh.payloads.pullRequestReviewSubmitted({ repo, pull: pr, review }),
    );
    await refusals.idle();
    assert.equal((await getRun(database.db, runId))?.state, "awaiting_approval");
    assert.match(
      prComments(pr)[0] ?? "",
      /your approval is of commit `[0-9a-f]{12}`, but this pull request is now at/,
    );
  });
});
