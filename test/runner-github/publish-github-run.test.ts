import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import type { Database } from "../../core/db/open-database.ts";
import { getRun, insertRun } from "../../core/db/runs.ts";
import { runs } from "../../core/db/schema.ts";
import { createGitHubApp } from "../../core/github/create-github-app.ts";
import { GitHubApiError, type GitHubApi } from "../../core/github/github-api.ts";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { publishGitHubRun } from "../../runner/github-run/publish-github-run.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { runGit } from "../stand-ins/github/bare-git-repo.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";

const appId = 5151;
const installationId = 31;
const secret = "publish-test-secret-0123456789abcdef0123";
const logger = createLogger("silent");

describe("publishing a finished run on GitHub (through the stand-in)", () => {
  let gh: GitHubStandIn;
  let database: Database;
  let privateKey: string;

  before(async () => {
    const keys = generateAppKeys();
    privateKey = keys.privateKey;
    gh = await startGitHubStandIn({ appId, publicKeyPem: keys.publicKeyPem, webhookSecret: "unused" });
    gh.createInstallation({ id: installationId, account: "acme" });
    database = await testDatabaseKinds()[0]!.open();
  });
  after(async () => {
    await database?.close();
    await gh?.close();
  });

  /** The run as the runner leaves it once finished, on a branch named for the issue. */
  async function insertFinishedRun(
    repo: { fullName: string; cloneUrl: string },
    issueNumber: number,
    run: { id: string; branch: string; state: "succeeded" | "failed"; outcomeReason: string },
  ) {
    await insertRun(database.db, {
      id: run.id,
      kind: "github",
      state: run.state,
      agent: "builtin",
      model: "gpt-4.1-mini",
      repo: repo.fullName,
      issueNumber,
      installationId,
      cloneUrl: repo.cloneUrl,
      baseRef: "main",
      headBranch: run.branch,
      outcomeReason: run.outcomeReason,
      finishedAt: new Date(),
    });
  }

  /** The branch the relay would have pushed (one commit on top of main), and its audit event. */
  /** A succeeded run with a tracking comment and its branch pushed, ready to publish. */
  async function prepareTrackedRun(name: string, marker: string) {
    const repo = await gh.createRepo({ owner: "acme", name, installationId, files: { "a.txt": "a\n" } });
    const issue = gh.createIssue(repo.fullName, { title: "Fix a", body: "Please.", user: "maintainer" });
    const tracking = gh.addIssueComment(repo.fullName, issue.number, {
      body: `<!-- airlock:tracking:${marker} --> working`,
      user: gh.botUser.login,
    });
    const runId = newRunId();
    const branch = `airlock/${issue.number}-${runId}`;
    await insertFinishedRun(repo, issue.number, {
      id: runId,
      branch,
      state: "succeeded",
      outcomeReason: "the agent finished (exit 0)",
    });
    await database.db.update(runs).set({ trackingCommentId: tracking.id }).where(eq(runs.id, runId));
    await pushAgentBranch(repo, runId, branch);
    const real = createGitHubApp({ appId, privateKey, apiUrl: gh.apiUrl }, logger).forInstallation(
      installationId,
    );
    return { repo, tracking, runId, real };
  }

  async function pushAgentBranch(repo: { gitDir: string }, runId: string, branch: string) {
    const tree = (await runGit(repo.gitDir, ["rev-parse", "main^{tree}"])).toString().trim();
    const commit = (await runGit(repo.gitDir, ["commit-tree", tree, "-p", "main", "-m", "agent work"]))
      .toString()
      .trim();
    await runGit(repo.gitDir, ["update-ref", `refs/heads/${branch}`, commit]);
    await appendAuditEvent(database.db, {
      runId,
      type: "relay.pushed",
      data: { branch, commit, remoteRef: `refs/heads/${branch}` },
      secret,
    });
  }

  it("opens a regular pull request, said to be a draft, where GitHub refuses drafts; publishing again doubles nothing", async () => {
    const repo = await gh.createRepo({
      owner: "acme",
      name: "free-private",
      installationId,
      private: true,
      draftPullRequests: false,
      files: { "a.txt": "a\n" },
    });
    const issue = gh.createIssue(repo.fullName, { title: "Fix a", body: "Please.", user: "maintainer" });
    const runId = newRunId();
    const branch = `airlock/${issue.number}-${runId}`;
    await insertFinishedRun(repo, issue.number, {
      id: runId,
      branch,
      state: "succeeded",
      outcomeReason: "the agent finished (exit 0)",
    });
    await pushAgentBranch(repo, runId, branch);
    const github = createGitHubApp({ appId, privateKey, apiUrl: gh.apiUrl }, logger).forInstallation(
      installationId,
    );

    const first = await publishGitHubRun({ db: database.db, github, logger }, runId);
    const pulls = gh.state.pulls.filter((p) => p.repo === repo.fullName);
    assert.equal(pulls.length, 1);
    assert.equal(pulls[0]!.draft, false);
    assert.equal(pulls[0]!.number, first.prNumber);
    assert.match(pulls[0]!.body, /does not allow draft pull requests[\s\S]*\nFixes #1\n/);
    assert.equal((await getRun(database.db, runId))?.prNumber, first.prNumber);
    assert.ok((await getRun(database.db, runId))?.publishedAt);
    const results = () =>
      gh.state.comments.filter((c) => c.repo === repo.fullName && c.body.includes(`airlock:result:${runId}`));
    assert.equal(results().length, 1);
    assert.match(results()[0]!.body, new RegExp(`draft pull request #${first.prNumber}`));

    await database.db.update(runs).set({ publishedAt: null }).where(eq(runs.id, runId));
    await publishGitHubRun({ db: database.db, github, logger }, runId);
    assert.equal(gh.state.pulls.filter((p) => p.repo === repo.fullName).length, 1);
    assert.equal(results().length, 1);
  });
  it("the result comment fails after the pull request opened, beside the tracking comment's edit: reported once, the run stays unpublished, and publishing again doubles nothing", async () => {
    const { repo, tracking, runId, real } = await prepareTrackedRun("result-fails", "x");
    // GitHub answers the result comment's create with a 502 once; every other call is the stand-in's.
    let refusals = 0;
    const flaky: GitHubApi = new Proxy(real, {
      get: (target, method: keyof GitHubApi) =>
        method === "createIssueComment" && refusals === 0
          ? async () => {
              refusals += 1;
              throw new GitHubApiError("Bad Gateway", { status: 502 });
            }
          : target[method],
    });
    const pullsOf = () => gh.state.pulls.filter((p) => p.repo === repo.fullName);
    const resultsOf = () =>
      gh.state.comments.filter((c) => c.repo === repo.fullName && c.body.includes(`airlock:result:${runId}`));
    const trackingBody = () => gh.state.comments.find((c) => c.id === tracking.id)?.body ?? "";

    await assert.rejects(publishGitHubRun({ db: database.db, github: flaky, logger }, runId), /Bad Gateway/);
    assert.equal(refusals, 1);
    assert.equal(pullsOf().length, 1, "the pull request was opened before the comment failed");
    assert.equal(resultsOf().length, 0);
    // The edit beside it went through: it needed only the pull request.
    assert.match(trackingBody(), new RegExp(`pull/${pullsOf()[0]!.number}`));
    assert.equal((await getRun(database.db, runId))?.publishedAt, null, "not published without its comment");

    const second = await publishGitHubRun({ db: database.db, github: flaky, logger }, runId);
    assert.equal(pullsOf().length, 1);
    assert.equal(second.prNumber, pullsOf()[0]!.number);
    assert.equal(resultsOf().length, 1);
    assert.ok((await getRun(database.db, runId))?.publishedAt);
    await database.db.update(runs).set({ publishedAt: null }).where(eq(runs.id, runId));
    await publishGitHubRun({ db: database.db, github: flaky, logger }, runId);
    assert.equal(pullsOf().length, 1);
    assert.equal(resultsOf().length, 1);
  });

  it("a pull request that cannot be opened: no result comment is posted and the tracking comment is left as it was", async () => {
    const { repo, tracking, runId, real } = await prepareTrackedRun("pull-fails", "y");
    const refusing: GitHubApi = new Proxy(real, {
      get: (target, method: keyof GitHubApi) =>
        method === "createPull"
          ? async () => {
              throw new GitHubApiError("Service Unavailable", { status: 503 });
            }
          : target[method],
    });
    await assert.rejects(
      publishGitHubRun({ db: database.db, github: refusing, logger }, runId),
      /Service Unavailable/,
    );
    // The result comment names the pull request: it waits for it, however early its lookup ran.
    assert.equal(
      gh.state.comments.filter((c) => c.repo === repo.fullName && c.body.includes(`airlock:result:${runId}`))
        .length,
      0,
    );
    assert.equal(
      gh.state.comments.find((c) => c.id === tracking.id)?.body,
      "<!-- airlock:tracking:y --> working",
    );
    assert.equal((await getRun(database.db, runId))?.publishedAt, null);
  });

  it("shows the outcome reason and the agent's words as text: no markup, no HTML, no @mention", async () => {
    const repo = await gh.createRepo({
      owner: "acme",
      name: "hostile-words",
      installationId,
      files: { "a.txt": "a\n" },
    });
    const issue = gh.createIssue(repo.fullName, { title: "Fix a", body: "Please.", user: "maintainer" });
    const github = createGitHubApp({ appId, privateKey, apiUrl: gh.apiUrl }, logger).forInstallation(
      installationId,
    );
    const hostile =
      "boom **bold** <img src=x onerror=alert(1)> [click](https://evil.example) </details> cc @octocat @acme/admins";
    const publishFailed = async (
      pushed: boolean,
      summary = "Done. Ping @octocat and @acme/admins to merge.",
    ) => {
      const runId = newRunId();
      const branch = `airlock/${issue.number}-${runId}`;
      await insertFinishedRun(repo, issue.number, {
        id: runId,
        branch,
        state: "failed",
        outcomeReason: hostile,
      });
      await appendAuditEvent(database.db, {
        runId,
        type: "agent.summary",
        data: { text: summary },
        secret,
      });
      if (pushed) await pushAgentBranch(repo, runId, branch);
      await publishGitHubRun({ db: database.db, github, logger }, runId);
      const result = gh.state.comments.find(
        (c) => c.repo === repo.fullName && c.body.includes(`airlock:result:${runId}`),
      );
      assert.ok(result);
      return result.body;
    };

    const withoutPull = await publishFailed(false);
    const withPull = await publishFailed(true);
    const pull = gh.state.pulls.find((p) => p.repo === repo.fullName);
    assert.ok(pull);
    for (const body of [withoutPull, withPull, pull.body]) {
      assert.doesNotMatch(body, /<img|<\/details> cc|\*\*bold\*\*|\[click\]\(/);
      assert.doesNotMatch(body, /@[A-Za-z0-9]/);
    }
    assert.match(
      withoutPull,
      /Reason \(`failed`\): boom \\\*\\\*bold\\\*\\\* &lt;img src=x onerror=alert\(1\)&gt;/,
    );
    assert.match(withoutPull, /cc @\u200doctocat @\u200dacme\/admins/);
    assert.match(withPull, /ended \*\*failed\*\* \(boom /);
    assert.match(pull.body, /Ping @\u200doctocat and @\u200dacme\/admins to merge/);

    // A secret in the agent's summary is neither posted nor put in the pull request.
    const token = `ghp_${randomBytes(27).toString("base64url").replace(/[-_]/g, "x").slice(0, 36)}`;
    const withSecret = await publishFailed(false, `Done. I used GH_TOKEN=${token} to test it.`);
    assert.ok(!withSecret.includes(token), "the result comment quotes the secret");
    assert.match(
      withSecret,
      /The agent's summary was withheld: it looks like it holds a secret \(secretlint-rule-github GITHUB_TOKEN at line 1\)/,
    );
    assert.deepEqual(gh.violations, []);
  });
});
