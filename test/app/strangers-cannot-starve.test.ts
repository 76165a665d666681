import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { createRefusalDesk } from "../../app/replies/create-refusal-desk.ts";
import type { Database } from "../../core/db/open-database.ts";
import { runs, webhookDeliveries } from "../../core/db/schema.ts";
import { createAirlockMetrics } from "../../core/metrics/create-airlock-metrics.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { serveAppOverHttp, type AppOverHttp } from "./serve-app-over-http.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";

/**
 * Issue 9 §6: on a public repository anyone can comment `/airlock run`. Here Octokit's
 * throttle is ON, as in production (one comment per installation every 3 s), so refusals
 * posted inline would put the maintainer's tracking comment behind all of them.
 */
const appId = 4545;
const webhookSecret = "strangers-webhook-secret";
const installationId = 909;
const strangers = 60;
const [kind] = testDatabaseKinds();

// Polled often: the maintainer's wait is what this test measures.
const poll = { timeoutMs: 20_000, intervalMs: 10 };

describe("strangers cannot starve maintainers (Octokit's write throttle on)", () => {
  let gh: GitHubStandIn;
  let app: AppOverHttp;
  let database: Database;
  const owner = `pub-${randomBytes(3).toString("hex")}`;
  const full = `${owner}/popular`;
  const metrics = createAirlockMetrics();
  // The desk as `airlock app` builds it: 6 refusals a minute, 3.5 s apart.
  const refusals = createRefusalDesk({
    onOutcome: (outcome) => metrics.refusals.inc({ outcome }),
  });

  before(async () => {
    const { privateKey, publicKeyPem } = generateAppKeys();
    gh = await startGitHubStandIn({ appId, publicKeyPem, webhookSecret });
    gh.createInstallation({ id: installationId, account: owner });
    await gh.createRepo({ owner, name: "popular", installationId, files: { "README.md": "# demo\n" } });
    gh.setPermission(full, "maintainer", "write");
    database = await kind!.open();
    app = await serveAppOverHttp({
      gh,
      appId,
      privateKey,
      webhookSecret,
      db: database.db,
      tokenSecret: "strangers-token-secret-0123456789",
      refusals,
      throttle: true,
    });
  });

  after(async () => {
    await refusals.idle();
    await app?.close();
    await gh?.close();
    await database?.close();
  });

  it(`${strangers} strangers' commands, then a maintainer's label: the maintainer is acknowledged within 5 s`, async () => {
    const issue = gh.createIssue(full, {
      title: "Fix the docs",
      body: "Typos in README.",
      user: "maintainer",
    });
    const command = async (login: string) => {
      const comment = gh.addIssueComment(full, issue.number, { body: "/airlock run", user: login });
      const answered = await gh.deliver(
        "issue_comment",
        gh.payloads.issueCommentCreated({
          repo: full,
          issue: issue.number,
          comment: comment.id,
          sender: login,
        }),
      );
      assert.equal(answered.status, 200, answered.body);
    };
    await command("stranger-0");
    // The first of them again, on the same issue: no second refusal, whatever the rate.
    await command("stranger-0");
    // The rest all at once, as a crowd would. The label comes once the app has taken in every
    // command (their deliveries recorded), not once it has answered them: a refusal posted
    // inline would hold its delivery open, and the maintainer would queue behind it.
    // Settled, not all-or-nothing: a failed delivery is reported below, never as a stray rejection.
    const crowd = Promise.allSettled(
      Array.from({ length: strangers - 1 }, (_, k) => command(`stranger-${k + 1}`)),
    );
    await waitUntil(
      "every command taken in",
      async () => {
        const rows = await database.db
          .select()
          .from(webhookDeliveries)
          .where(eq(webhookDeliveries.repo, full));
        return rows.length >= strangers + 1;
      },
      poll,
    );

    const labeledAt = Date.now();
    const labeled = await gh.deliverLabeled({
      repo: full,
      issue: issue.number,
      label: "airlock:builtin",
      sender: "maintainer",
    });
    assert.equal(labeled.status, 200, labeled.body);
    const [run] = await database.db.select().from(runs).where(eq(runs.repo, full));
    assert.ok(run, "the maintainer's run was recorded");
    const tracking = await waitUntil(
      "the tracking comment",
      () => gh.state.comments.find((c) => c.repo === full && c.body.includes(run.id)),
      poll,
    );
    const waitedMs = Date.now() - labeledAt;
    const refusalsBefore = gh.state.comments.filter((c) => c.body.startsWith("@stranger-")).length;
    assert.ok(waitedMs < 5_000, `the tracking comment came ${waitedMs} ms after the label`);
    assert.ok(tracking.id > 0);

    const failed = (await crowd).filter((r) => r.status === "rejected");
    assert.deepEqual(failed, [], "every stranger's delivery was answered 200");
    await refusals.idle();
    const replies = gh.state.comments.filter((c) => c.repo === full && c.body.startsWith("@stranger-"));
    const perStranger = new Map<string, number>();
    for (const r of replies) {
      const login = /^@(stranger-\d+)/.exec(r.body)?.[1] ?? "?";
      perStranger.set(login, (perStranger.get(login) ?? 0) + 1);
    }
    assert.ok(
      [...perStranger.values()].every((n) => n === 1),
      "at most one refusal per stranger and issue",
    );
    assert.equal(replies.length, 6, "only as many refusals as the rate allows were posted");
    assert.ok(
      refusalsBefore < replies.length,
      `the maintainer waited for all ${replies.length} refusals (${waitedMs} ms)`,
    );
    const counted = await metrics.registry.getSingleMetricAsString("airlock_refusals_total");
    assert.match(counted, /airlock_refusals_total\{outcome="posted"\} 6$/m);
    assert.match(counted, new RegExp(`airlock_refusals_total\\{outcome="dropped"\\} ${strangers - 6}$`, "m"));
    assert.match(counted, /airlock_refusals_total\{outcome="duplicate"\} 1$/m);
    assert.deepEqual(gh.violations, []);
    console.log(
      `# tracking comment ${waitedMs} ms after the label; ${refusalsBefore} refusals posted before it`,
    );
  });
});
