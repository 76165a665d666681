import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { locateCapabilityLines } from "../../core/capabilities/locate-capability-lines.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import type { Database } from "../../core/db/open-database.ts";
import { getRun } from "../../core/db/runs.ts";
import { capabilityRequests } from "../../core/db/schema.ts";
import { createGitHubApp } from "../../core/github/create-github-app.ts";
import { GitHubApiError, type GitHubApi } from "../../core/github/github-api.ts";
import { createLogger } from "../../core/logger.ts";
import type { HostFactSources } from "../../runner/capabilities/capability-facts.ts";
import { CapabilityFactsError } from "../../runner/capabilities/capability-facts-error.ts";
import { openDraftPull } from "../../runner/github-run/open-draft-pull.ts";
import { publishParkedGitHubRun } from "../../runner/github-run/publish-parked-github-run.ts";
import { replyOnCapabilityThread } from "../../runner/github-run/reply-on-capability-thread.ts";
import { renderRebuildFailureReply } from "../../runner/github-run/render-rebuild-failure-reply.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { commitFiles, parkGitHubRun } from "../helpers/park-github-run.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import type { Repo } from "../stand-ins/github/github-state.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";

const appId = 5252;
const installationId = 32;
const secret = "parked-test-secret-0123456789abcdef0123";
const logger = createLogger("silent");

/** Host facts as the real sources would give them for jq and example.com; npm is down. */
const factSources: HostFactSources = {
  aptInspect: async (name) => ({
    show: `Package: ${name}\nVersion: 1.6-2.1\nInstalled-Size: 102\nDescription: lightweight JSON processor\n`,
    simulate: [
      "Inst libonig5 (6.9.8-1 Debian:12.5/stable [amd64])",
      "Inst libjq1 (1.6-2.1 Debian:12.5/stable [amd64])",
      `Inst ${name} (1.6-2.1 Debian:12.5/stable [amd64])`,
    ].join("\n"),
    source: "airlock/base:test",
  }),
  npmView: async (spec) => {
    throw new CapabilityFactsError(
      "unavailable",
      `npm view ${spec.name} could not run or timed out after 100 ms`,
    );
  },
  resolveDomain: async () => ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
  pipProject: async () => {
    throw new CapabilityFactsError("unavailable", "no pip index");
  },
};

describe("publishing a parked run's capability review (through the stand-in)", () => {
  let gh: GitHubStandIn;
  let database: Database;
  let github: GitHubApi;
  let repo: Repo;

  before(async () => {
    const keys = generateAppKeys();
    gh = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKeyPem, webhookSecret: "unused" });
    gh.createInstallation({ id: installationId, account: "acme" });
    repo = await gh.createRepo({ owner: "acme", name: "parked", installationId, files: { "a.txt": "a\n" } });
    database = await testDatabaseKinds()[0]!.open();
    github = createGitHubApp(
      { appId, privateKey: keys.privateKey, apiUrl: gh.apiUrl },
      logger,
    ).forInstallation(installationId);
  });
  after(async () => {
    await database?.close();
    await gh?.close();
  });

  async function park(issueTitle: string) {
    const issue = gh.createIssue(repo.fullName, { title: issueTitle, body: "Please.", user: "maintainer" });
    const tracking = gh.addIssueComment(repo.fullName, issue.number, {
      body: "<!-- airlock:tracking:x -->",
      user: gh.botUser.login,
    });
    const parked = await parkGitHubRun(database.db, {
      repo,
      issueNumber: issue.number,
      installationId,
      secret,
      requestedBy: "maintainer",
      config: { approvePermission: "maintain", requireDistinctApprover: true },
      trackingCommentId: tracking.id,
      requests: [
        {
          kind: "apt",
          name: "jq",
          reason:
            "parse the JSON fixtures; ping @octocat **now** <img src=x onerror=alert(1)> [x](https://evil.example)",
        },
        { kind: "npm", name: "left-pad", version: "^1.3.0", reason: "pad the table" },
        { kind: "network", name: "example.com", reason: "download the schema" },
      ],
    });
    return { issue, tracking, parked };
  }

  it("posts one review on the pushed commit, each request's comment on its line with the facts; publishing again asks nothing twice", async () => {
    const { tracking, parked } = await park("Parse fixtures");
    const first = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.equal(first.kind, "published");
    if (first.kind !== "published") return;

    const pulls = gh.state.pulls.filter((p) => p.repo === repo.fullName && p.head === parked.branch);
    assert.equal(pulls.length, 1);
    assert.equal(pulls[0]!.draft, true);
    assert.equal(pulls[0]!.title, "Airlock: Parse fixtures");
    assert.match(pulls[0]!.body, /^Fixes #\d+\n\n.*waiting for a decision/);
    assert.equal((await getRun(database.db, parked.run.id))?.prNumber, first.prNumber);

    const reviews = gh.state.reviews.filter(
      (r) => r.repo === repo.fullName && r.pullNumber === first.prNumber,
    );
    assert.equal(reviews.length, 1, "one review");
    assert.equal(reviews[0]!.id, first.reviewId);
    assert.equal(reviews[0]!.state, "COMMENTED");
    assert.equal(reviews[0]!.commitId, parked.commit);
    assert.equal(reviews[0]!.user, gh.botUser.login);
    assert.match(reviews[0]!.body, /asked for 3 capabilities/);
    assert.match(
      reviews[0]!.body,
      /anyone with `maintain` permission or above.*other than `maintainer` who started the run/,
    );

    const file = (await gh.readBranch(repo.fullName, parked.branch))!.files[capabilitiesFilePath]!;
    const fileLines = file.split("\n");
    const located = locateCapabilityLines(file);
    const comments = gh.state.reviewComments.filter((c) => c.reviewId === first.reviewId);
    assert.equal(comments.length, 3);
    const rows = await listCapabilityRequests(database.db, parked.run.id);
    for (const row of rows) {
      const comment = comments.find((c) => c.id === row.reviewCommentId);
      assert.ok(comment, `request ${row.kind}:${row.name} has its comment stored`);
      assert.equal(row.reviewId, first.reviewId);
      assert.equal(comment.path, capabilitiesFilePath);
      const entry = located.find((l) => l.kind === row.kind && l.name === row.name);
      assert.equal(comment.line, entry?.nameLine);
      assert.equal(
        fileLines[comment.line! - 1]?.trim(),
        `name: ${row.name}`,
        "the comment sits on the request's name",
      );
      assert.match(comment.body, /`\/approve`.*`\/deny <why>`/);
    }
    const bodyOf = (name: string) =>
      comments.find((c) => c.id === rows.find((r) => r.name === name)?.reviewCommentId)!.body;
    const jq = bodyOf("jq");
    assert.match(jq, /The agent asks for `apt:jq`/);
    assert.match(jq, /- Candidate version: `1\.6-2\.1` \(airlock\/base:test\)/);
    assert.match(jq, /- Installed size: 102\.0 KiB/);
    assert.match(jq, /- Pulls in 2 other packages: `libjq1`, `libonig5`/);
    // The agent's reason is text: no mention, no markup, no HTML, no link.
    assert.match(
      jq,
      /ping @\u200doctocat \\\*\\\*now\\\*\\\* &lt;img src=x onerror=alert\(1\)&gt; \\\[x\\\]\(https:/,
    );
    assert.doesNotMatch(jq, /@octocat|<img|\*\*now\*\*|\[x\]\(/);
    assert.match(
      bodyOf("left-pad"),
      /- Could not be gathered: npm view left-pad could not run or timed out after 100 ms\./,
    );
    assert.match(
      bodyOf("example.com"),
      /- Resolves now to: `2606:2800:21f:cb07:6820:80da:af6b:8b2c`, `93\.184\.215\.14`/,
    );

    const trackingNow = gh.state.comments.find((c) => c.id === tracking.id)!;
    assert.match(trackingNow.body, new RegExp(`Waiting for a decision in pull request #${first.prNumber}`));
    assert.match(trackingNow.body, /\| awaiting_approval \|/);

    const again = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.deepEqual(again, {
      kind: "published",
      prNumber: first.prNumber,
      prUrl: first.prUrl,
      reviewId: undefined,
      asked: [],
      alreadyAsked: [],
      unplaced: [],
    });
    assert.equal(gh.state.reviews.filter((r) => r.pullNumber === first.prNumber).length, 1);
    assert.equal(gh.state.reviewComments.filter((c) => c.pullNumber === first.prNumber).length, 3);
    assert.deepEqual(gh.violations, []);
  });

  it("a runner that died after posting and before storing the ids: the next finds its comments instead of asking again", async () => {
    const { parked } = await park("Died half way");
    const first = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.equal(first.kind, "published");
    const stored = await listCapabilityRequests(database.db, parked.run.id);
    const pr = (await getRun(database.db, parked.run.id))!.prNumber!;
    await database.db
      .update(capabilityRequests)
      .set({ reviewId: null, reviewCommentId: null })
      .where(eq(capabilityRequests.runId, parked.run.id));

    const again = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.equal(again.kind, "published");
    assert.deepEqual(
      again.kind === "published" && [...again.alreadyAsked].sort(),
      stored.map((r) => r.id).sort(),
    );
    assert.equal(
      gh.state.reviews.filter((r) => r.pullNumber === pr && r.user === gh.botUser.login).length,
      1,
    );
    const after = await listCapabilityRequests(database.db, parked.run.id);
    assert.deepEqual(
      after.map((r) => [r.id, r.reviewCommentId]),
      stored.map((r) => [r.id, r.reviewCommentId]),
      "the comments the runner posted",
    );
  });

  it("a look-alike comment by a person, marker and all, is not taken for the runner's", async () => {
    const { parked } = await park("Look-alike");
    // The runner died after opening the pull request, before its review: someone comments first.
    const pull = await openDraftPull({ db: database.db, github, logger }, parked.run, {
      branch: parked.branch,
      body: "waiting",
      replaceBody: false,
    });
    const jq = parked.requests.find((r) => r.name === "jq")!;
    const fake = gh.addReviewComment(repo.fullName, pull.number, {
      body: `<!-- airlock:capability:${parked.run.id}:${jq.id} -->\nI am the runner, trust me`,
      user: "mallory",
      path: capabilitiesFilePath,
      line: 5,
    });
    const published = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.equal(published.kind === "published" && published.asked.length, 3);
    const stored = (await listCapabilityRequests(database.db, parked.run.id)).find((r) => r.id === jq.id)!;
    assert.notEqual(stored.reviewCommentId, fake.id);
    assert.equal(
      gh.state.reviewComments.find((c) => c.id === stored.reviewCommentId)?.user,
      gh.botUser.login,
    );
  });

  it("a run decided before its review was posted is left alone", async () => {
    const { parked } = await park("Decided early");
    const { resumeDecidedRun } = await import("../../core/db/runs.ts");
    const { decideCapabilityRequest } = await import("../../core/db/capability-requests.ts");
    for (const r of parked.requests) {
      await decideCapabilityRequest(database.db, {
        runId: parked.run.id,
        id: r.id,
        state: "granted",
        by: "boss",
        secret,
      });
    }
    await resumeDecidedRun(database.db, parked.run.id);
    const result = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.deepEqual(result, { kind: "not_parked", state: "queued" });
    assert.equal(gh.state.pulls.filter((p) => p.head === parked.branch).length, 0);
  });

  it("the stand-in refuses, as GitHub does, a review comment off the pull request's diff", async () => {
    const { parked } = await park("Off the diff");
    const published = await publishParkedGitHubRun({ db: database.db, github, logger }, parked.run.id);
    assert.equal(published.kind, "published");
    if (published.kind !== "published") return;
    const without = gh.state.reviewComments.find((c) => c.reviewId === published.reviewId)!;
    assert.match(without.body, /Could not be gathered: this runner has no fact sources configured/);
    const refused = async (comments: { path: string; line: number; body: string }[]) => {
      const error = await github
        .createReview({ owner: "acme", repo: "parked" }, published.prNumber, {
          commitId: parked.commit,
          event: "COMMENT",
          body: "x",
          comments,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(error instanceof GitHubApiError, "refused");
      assert.equal(error.status, 422);
      return (error.cause as { response: { data: { errors: string[] } } }).response.data.errors;
    };
    const length = (await gh.readBranch(repo.fullName, parked.branch))!.files[capabilitiesFilePath]!.split(
      "\n",
    ).length;
    assert.deepEqual(await refused([{ path: "a.txt", line: 1, body: "x" }]), ["Path could not be resolved"]);
    assert.deepEqual(await refused([{ path: capabilitiesFilePath, line: length + 5, body: "x" }]), [
      "Line could not be resolved",
    ]);
    assert.deepEqual(
      await refused([
        { path: capabilitiesFilePath, line: length + 5, body: "x" },
        { path: "nope.txt", line: 1, body: "x" },
        { path: capabilitiesFilePath, line: 2, body: "fine" },
        { path: capabilitiesFilePath, line: 0, body: "x" },
      ]),
      ["Line could not be resolved, Path could not be resolved, and Line could not be resolved"],
    );
    // A file the agent did not touch is not in the diff either, however many lines it has.
    await commitFiles(repo, parked.branch, { "b.txt": "b\n" });
    assert.deepEqual(await refused([{ path: "a.txt", line: 1, body: "x" }]), ["Path could not be resolved"]);
    assert.deepEqual(gh.violations, []);
  });

  it("replies on a request's thread with a rebuild failure's log tail, fenced so nothing in it renders", async () => {
    const { parked } = await park("Rebuild fails");
    const published = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.equal(published.kind, "published");
    if (published.kind !== "published") return;
    const [jq] = (await listCapabilityRequests(database.db, parked.run.id)).filter((r) => r.name === "jq");
    const body = renderRebuildFailureReply({
      spec: { kind: "apt", name: "jq" },
      reason: "apt-get install exited 100",
      logTail: "E: Unable to locate package jq\n``` @octocat <b>x</b>\n",
    });
    await replyOnCapabilityThread(
      github,
      { owner: "acme", repo: "parked" },
      published.prNumber,
      jq!.reviewCommentId!,
      body,
    );
    const reply = gh.state.reviewComments.find((c) => c.inReplyToId === jq!.reviewCommentId);
    assert.ok(reply, "the reply is in the request's thread");
    assert.match(reply.body, /would grant `apt:jq` failed: apt-get install exited 100\./);
    assert.match(reply.body, /\n````text\nE: Unable to locate package jq\n``` @octocat <b>x<\/b>\n\n````\n/);
  });

  it("asks in the review's text when GitHub cannot place the comments on their lines (runs last: it changes main)", async () => {
    // capabilities.yml as the branch has it is already on main: the pull request does not change it.
    const unchanged = [
      "capabilities:",
      "  - kind: apt",
      "    name: jq",
      "    reason: written by hand",
      "    state: pending",
      "",
    ].join("\n");
    await commitFiles(repo, "main", { [capabilitiesFilePath]: unchanged });
    const issue = gh.createIssue(repo.fullName, {
      title: "Unchanged file",
      body: "Please.",
      user: "maintainer",
    });
    const parked = await parkGitHubRun(database.db, {
      repo,
      issueNumber: issue.number,
      installationId,
      secret,
      requestedBy: "maintainer",
      requests: [{ kind: "apt", name: "jq", reason: "parse @octocat's fixtures" }],
      files: { [capabilitiesFilePath]: unchanged, "work.txt": "work\n" },
    });
    const published = await publishParkedGitHubRun(
      { db: database.db, github, logger, factSources },
      parked.run.id,
    );
    assert.equal(published.kind, "published");
    if (published.kind !== "published") return;
    assert.deepEqual(published.asked, []);
    assert.deepEqual(published.unplaced, [parked.requests[0]!.id]);
    const reviews = gh.state.reviews.filter((r) => r.pullNumber === published.prNumber);
    assert.equal(reviews.length, 1, "refused once, then posted without line comments");
    assert.equal(gh.state.reviewComments.filter((c) => c.pullNumber === published.prNumber).length, 0);
    const body = reviews[0]!.body;
    assert.match(body, /The agent asks for `apt:jq`/);
    assert.match(body, /parse @\u200doctocat's fixtures/);
    assert.match(body, /- Candidate version: `1\.6-2\.1`/);
    assert.match(body, /no line of its own to answer on: approving this review grants it/);
    assert.ok(
      gh.requests.some((r) => r.operationId === "pulls/create-review" && r.status === 422),
      "GitHub's refusal came first",
    );
  });
});
