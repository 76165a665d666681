import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { and, asc, eq, sql } from "drizzle-orm";
import { getAgent } from "../../core/agents/get-agent.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { checkRunEventData } from "../../core/db/run-event-schemas.ts";
import { listRunEvents } from "../../core/db/runs.ts";
import { runPhases } from "../../core/run-phases.ts";
import type { Database } from "../../core/db/open-database.ts";
import { auditEvents, llmCalls, runs, webhookDeliveries, type Run } from "../../core/db/schema.ts";
import { createLogger } from "../../core/logger.ts";
import { sumRunFigures } from "../../core/summary/sum-run-figures.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { sandboxLabelKeys } from "../../runner/sandbox/sandbox-labels.ts";
import type { GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";
import type { ScriptedUpstream } from "../stand-ins/scripted-llm-upstream.ts";
import { startAirlockProcess, type AirlockProcess } from "./start-airlock-process.ts";
import { e2eOwner, e2eTokenSecret, startE2eWorld, type E2eWorld } from "./start-e2e-world.ts";

/**
 * Issue 5's end-to-end tests: the real `airlock app` and `airlock runner` processes, real
 * Docker, real Postgres and git over HTTP; GitHub is the strict stand-in (every request
 * validated against GitHub's OpenAPI description), the LLM the scripted upstream.
 */

const pgUrl = process.env.TEST_DATABASE_URL;
const skip = pgUrl ? undefined : "TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)";
if (!pgUrl && process.env.CI)
  throw new Error("CI is set but TEST_DATABASE_URL is not: run the tests through .ci/run");

const tokenSecret = e2eTokenSecret;
const owner = e2eOwner;
// A runner reaps every container of its runner id when it starts: ids of this process's own,
// so that another suite running on the same Docker engine (a second checkout) is not reaped.
const runnerIds = {
  a: `runner-a-${process.pid}`,
  b: `runner-b-${process.pid}`,
};

function call(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe(
  "the GitHub App end to end (app + runner processes, Docker, Postgres, git, scripted LLM)",
  { skip },
  () => {
    let w: E2eWorld;
    let gh: GitHubStandIn;
    let upstream: ScriptedUpstream;
    let db: Database["db"];
    let app: AirlockProcess | undefined;
    let runners: AirlockProcess[];
    const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });

    before(async () => {
      // Built once here so that no run pays the first build inside its deadline.
      await buildAgentImage(runtime, { agent: getAgent("builtin") });
      await buildAgentImage(runtime, { agent: getAgent("claude-code") });
      w = await startE2eWorld();
      ({ gh, upstream, db, app, runners } = w);
      // Every repository exists before the app's first installation token is minted: Probot
      // caches the token, and the stand-in scopes it to the repositories of that moment.
      await newRepo("label-flow");
      await newRepo("claude-flow", { ".github/airlock.yml": "agents: [claude-code]\n" });
      await newRepo("who-may");
      await newRepo("bad-config", {
        ".github/airlock.yml": "budget:\n  usd: lots\nmin_permission: wizard\n",
      });
      await newRepo("stop-and-follow");
      await newRepo("crash");
      await w.startRunner(runnerIds.a);
    });

    after(async () => {
      await w?.close();
    });

    const diagnostics = () => w.diagnostics();

    async function newRepo(name: string, files: Record<string, string> = {}) {
      return w.newRepo(name, { "src/greet.js": 'export const greeting = "hello";\n', ...files });
    }

    /** `issues.labeled` with `airlock:builtin` (or another agent's label), as GitHub sends it. */
    function deliverLabel(
      repo: string,
      issue: number,
      sender: string,
      opts?: { secret?: string; label?: string },
    ) {
      return gh.deliver(
        "issues",
        gh.payloads.issuesLabeled({ repo, issue, label: opts?.label ?? "airlock:builtin", sender }),
        opts?.secret === undefined ? undefined : { secret: opts.secret },
      );
    }

    /** `issue_comment.created` for a comment already on the issue. */
    function deliverComment(repo: string, issue: number, comment: number, sender: string) {
      return gh.deliver("issue_comment", gh.payloads.issueCommentCreated({ repo, issue, comment, sender }));
    }

    async function agentContainerOf(runId: string) {
      return waitFor(`the agent's container for ${runId}`, async () => {
        const containers = await runtime.listContainers({ [sandboxLabelKeys.runId]: runId });
        return containers.length > 0 ? containers : undefined;
      });
    }

    async function runsOf(repo: string): Promise<Run[]> {
      return db.select().from(runs).where(eq(runs.repo, repo)).orderBy(asc(runs.createdAt));
    }

    async function published(runId: string): Promise<Run> {
      return waitFor(
        `run ${runId} to be published`,
        async () => {
          const [run] = await db.select().from(runs).where(eq(runs.id, runId));
          return run?.publishedAt ? run : undefined;
        },
        120_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}${diagnostics()}`);
      });
    }

    async function firstRun(repo: string): Promise<Run> {
      return waitFor(`a run for ${repo}`, async () => (await runsOf(repo))[0]);
    }

    it("a label on an issue becomes a draft pull request with the agent's change, trailers, and an audit summary equal to the database", async (t) => {
      const full = `${owner}/label-flow`;
      upstream.define(
        "label.0",
        call("edit_file", { path: "src/greet.js", old: "hello", new: "hello, world" }),
      );
      upstream.define("label.1", call("finish", { summary: "Greeted the world." }));
      const issue = gh.createIssue(full, {
        title: "Greet the whole world",
        body: "The greeting should say hello, world. [[script:label]]",
        user: "maintainer",
      });
      const delivery = await deliverLabel(full, issue.number, "maintainer");
      assert.equal(delivery.status, 200, delivery.body);

      const run = await published((await firstRun(full)).id);
      assert.equal(run.state, "succeeded", `${run.outcomeReason}${diagnostics()}`);
      assert.equal(run.headBranch, `airlock/${issue.number}-${run.id}`);
      assert.equal(run.requestedBy, "maintainer");
      const seconds = (from: Date | null, to: Date | null) =>
        ((to!.getTime() - from!.getTime()) / 1000).toFixed(1);
      t.diagnostic(
        `recorded → agent running ${seconds(run.createdAt, run.startedAt)} s, → finished ${seconds(run.createdAt, run.finishedAt)} s, → PR published ${seconds(run.createdAt, run.publishedAt)} s`,
      );

      // The branch: the agent's change on top of main, with the trailers.
      const branch = await gh.readBranch(full, run.headBranch!);
      assert.ok(branch, `branch ${run.headBranch} was not pushed${diagnostics()}`);
      assert.equal(branch.files["src/greet.js"], 'export const greeting = "hello, world";\n');
      assert.match(branch.message, new RegExp(`^Airlock-Run: ${run.id}$`, "m"));
      const trailerHead = /^Airlock-Audit: ([0-9a-f]{64})$/m.exec(branch.message)?.[1];
      assert.ok(trailerHead, branch.message);

      // The draft pull request "Fixes #N" whose body is the summary, figures as in the database.
      const pulls = gh.state.pulls.filter((p) => p.repo === full);
      assert.equal(pulls.length, 1);
      const pr = pulls[0]!;
      assert.equal(pr.draft, true);
      assert.equal(pr.head, run.headBranch);
      assert.equal(pr.base, "main");
      assert.match(pr.body, new RegExp(`^Fixes #${issue.number}\\n`));
      const calls = await db
        .select()
        .from(llmCalls)
        .where(eq(llmCalls.runId, run.id))
        .orderBy(asc(llmCalls.id));
      const figures = sumRunFigures(calls);
      assert.equal(calls.length, 2);
      assert.ok(pr.body.includes(`| LLM calls | ${figures.calls} |`), pr.body);
      assert.ok(
        pr.body.includes(
          `${figures.inputTokens.toLocaleString("en-US")} in / ${figures.outputTokens.toLocaleString("en-US")} out`,
        ),
        pr.body,
      );
      assert.ok(pr.body.includes(`$${figures.costUsd}`), pr.body);
      const ledger = await db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.runId, run.id))
        .orderBy(asc(auditEvents.seq));
      assert.ok(pr.body.includes(ledger.at(-1)!.hash), "the PR names the chain's head");
      assert.ok(
        ledger.some((e) => e.hash === trailerHead),
        "the trailer names an entry of the chain",
      );
      assert.deepEqual((await verifyAuditChain(db, run.id, tokenSecret)).ok, true);
      assert.match(pr.body, /<details><summary>Per-call log \(2 LLM calls\)<\/summary>/);

      // On the issue: 👀 on the trigger, a tracking comment closed with the result, a link to the PR.
      assert.ok(gh.state.reactions.some((r) => r.repo === full && r.content === "eyes"));
      const comments = gh.state.comments.filter((c) => c.repo === full && c.issueNumber === issue.number);
      assert.ok(
        comments.some((c) => c.body.includes(`#${pr.number}`) && c.body.includes("draft pull request")),
        JSON.stringify(comments),
      );
      const tracking = comments.find((c) => c.id === run.trackingCommentId);
      assert.ok(tracking, "the tracking comment exists");
      assert.match(tracking.body, /\| succeeded \|/);
      assert.deepEqual(gh.violations, [], diagnostics());

      // The operator's view: /healthz and /metrics on the app and on the runner.
      const appHealth = await fetch(`${app!.url}/healthz`);
      assert.equal(appHealth.status, 200);
      assert.deepEqual(await appHealth.json(), { status: "ok", database: "ok", docker: "not used" });
      const runnerHealth = await fetch(`${runners[0]!.url}/healthz`);
      assert.deepEqual(await runnerHealth.json(), { status: "ok", database: "ok", docker: "ok" });
      assert.match(
        await (await fetch(`${app!.url}/metrics`)).text(),
        /airlock_webhooks_total\{event="issues"\} [1-9]/,
      );
      const runnerMetrics = await (await fetch(`${runners[0]!.url}/metrics`)).text();
      assert.match(runnerMetrics, /airlock_runs_finished_total\{agent="builtin",outcome="succeeded"\} 1/);
      assert.match(
        runnerMetrics,
        new RegExp(`airlock_llm_calls_total\\{provider="openai",model="[^"]+"\\} ${calls.length}`),
      );

      // Issue 15: every phase is stored with the run, in order; publishing is stored just after
      // the run is marked published, and the runner observed each phase in its histogram.
      const phases = await waitFor("the run's publish phase", async () => {
        const stored = (await listRunEvents(db, run.id))
          .filter((e) => e.type === "run.phase")
          .map((e) => checkRunEventData("run.phase", e.data));
        return stored.some((p) => p.phase === "publish") ? stored : undefined;
      });
      assert.deepEqual(
        phases.map((p) => `${p.segment}:${p.phase}`),
        runPhases.map((phase) => `0:${phase}`),
      );
      for (const p of phases) assert.ok(Number.isInteger(p.ms) && p.ms >= 0, JSON.stringify(p));
      const ms = (phase: string) => ((phases.find((p) => p.phase === phase)?.ms ?? NaN) / 1000).toFixed(1);
      // The pull request was written before it was published: its body lists the phases up to the push.
      assert.ok(
        pr.body.includes(
          `; phases: queued ${ms("queued")} s, prepare ${ms("prepare")} s, image ${ms("image")} s, container start ${ms("container_start")} s, agent ${ms("agent")} s, relay ${ms("relay")} s, push ${ms("push")} s |`,
        ),
        pr.body,
      );
      const phaseMetrics = await (await fetch(`${runners[0]!.url}/metrics`)).text();
      for (const phase of runPhases) {
        assert.match(
          phaseMetrics,
          new RegExp(`^airlock_run_phase_seconds_count\\{phase="${phase}",agent="builtin"\\} 1$`, "m"),
        );
      }
    });

    it("a label airlock:claude-code runs Claude Code sealed: its Write lands in the draft PR, its calls are Anthropic's in the ledger", async () => {
      const full = `${owner}/claude-flow`;
      upstream.define(
        "claude.0",
        call("Write", {
          file_path: "/workspace/src/world.js",
          content: 'export const greeting = "hello, world";\n',
        }),
      );
      upstream.define("claude.1", { text: "Greeted the world." });
      const issue = gh.createIssue(full, {
        title: "Greet the whole world",
        body: "The greeting should say hello, world. [[script:claude]]",
        user: "maintainer",
      });
      const delivery = await deliverLabel(full, issue.number, "maintainer", { label: "airlock:claude-code" });
      assert.equal(delivery.status, 200, delivery.body);

      const run = await published((await firstRun(full)).id);
      assert.equal(run.agent, "claude-code");
      assert.equal(run.state, "succeeded", `${run.outcomeReason}${diagnostics()}`);
      const branch = await gh.readBranch(full, run.headBranch!);
      assert.ok(branch, `branch ${run.headBranch} was not pushed${diagnostics()}`);
      assert.equal(branch.files["src/world.js"], 'export const greeting = "hello, world";\n');
      const calls = await db.select().from(llmCalls).where(eq(llmCalls.runId, run.id));
      assert.deepEqual(
        calls.map((c) => `${c.provider} ${c.model} ${c.status}`),
        ["anthropic claude-sonnet-4-5 200", "anthropic claude-sonnet-4-5 200"],
      );
      const pr = gh.state.pulls.find((p) => p.repo === full);
      assert.ok(pr, diagnostics());
      assert.match(pr.body, /\| Agent \| `claude-code`, image `airlock\/claude-code:[0-9a-f]{64}`/);
      assert.match(pr.body, /> Greeted the world\./);
      assert.deepEqual(gh.violations, [], diagnostics());
    });

    it("a reader's label gets a reply and no run; the same delivery twice gives one run; a malformed config gets a reply naming the key", async () => {
      const full = `${owner}/who-may`;
      const issue = gh.createIssue(full, {
        title: "Do a thing",
        body: "Please. [[script:never]]",
        user: "reader",
      });
      // This one goes to the server's root, the URL Probot's registration flow gives the App.
      gh.setWebhookUrl(`${app!.url}/`);
      const refused = await deliverLabel(full, issue.number, "reader");
      assert.equal(refused.status, 200);
      const reply = await waitFor("the refusal", async () =>
        gh.state.comments.find(
          (c) => c.repo === full && c.issueNumber === issue.number && c.body.includes("@reader"),
        ),
      );
      gh.setWebhookUrl(`${app!.url}/api/github/webhooks`);
      assert.match(reply.body, /write/);
      assert.deepEqual(await runsOf(full), []);

      // A maintainer's command, delivered twice with the same id (GitHub's redelivery).
      upstream.define("twice.0", call("finish", { summary: "Nothing to change." }));
      const comment = gh.addIssueComment(full, issue.number, {
        body: "/airlock run builtin Look at the README. [[script:twice]]",
        user: "maintainer",
      });
      const payload = gh.payloads.issueCommentCreated({
        repo: full,
        issue: issue.number,
        comment: comment.id,
        sender: "maintainer",
      });
      const deliveryId = randomUUID();
      assert.equal((await gh.deliver("issue_comment", payload, { deliveryId })).status, 200);
      assert.equal((await gh.deliver("issue_comment", payload, { deliveryId })).status, 200);
      const run = await published((await firstRun(full)).id);
      assert.equal((await runsOf(full)).length, 1);
      assert.equal(
        (await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId))).length,
        1,
      );
      // The reader's issue text never reached the task.
      assert.doesNotMatch(run.prompt ?? "", /Please\./);
      assert.match(run.prompt ?? "", /Look at the README\./);

      // A malformed .github/airlock.yml: a reply that names the key, and no run.
      const bad = `${owner}/bad-config`;
      const issue2 = gh.createIssue(bad, { title: "x", body: "y", user: "maintainer" });
      await deliverLabel(bad, issue2.number, "maintainer");
      const configReply = await waitFor("the config reply", async () =>
        gh.state.comments.find((c) => c.repo === bad && c.body.includes("budget.usd")),
      );
      assert.match(configReply.body, /min_permission/);
      assert.deepEqual(await runsOf(bad), []);

      // A delivery with a bad signature is refused by Probot.
      const forged = await deliverLabel(bad, issue2.number, "maintainer", { secret: "not-the-secret" });
      assert.ok(forged.status >= 400 && forged.status < 500, `forged delivery answered ${forged.status}`);
      assert.deepEqual(gh.violations, [], diagnostics());
    });

    it("/airlock stop mid-run records cancelled and removes the container; a review comment on the PR adds a follow-up commit", async () => {
      const full = `${owner}/stop-and-follow`;
      upstream.define("slow.0", call("run_command", { argv: ["sleep", "60"] }));
      upstream.define("slow.1", call("finish", { summary: "slept" }));
      const issue = gh.createIssue(full, {
        title: "Take your time",
        body: "Sleep. [[script:slow]]",
        user: "maintainer",
      });
      await deliverLabel(full, issue.number, "maintainer");
      const queued = await firstRun(full);
      await agentContainerOf(queued.id);
      const stop = gh.addIssueComment(full, issue.number, { body: "/airlock stop", user: "maintainer" });
      await deliverComment(full, issue.number, stop.id, "maintainer");
      const stopped = await published(queued.id);
      assert.equal(stopped.state, "cancelled", diagnostics());
      assert.deepEqual(await runtime.listContainers({ [sandboxLabelKeys.runId]: queued.id }), []);
      assert.ok(
        gh.state.comments.some(
          (c) => c.repo === full && c.body.includes("cancelled") && c.body.includes(queued.id),
        ),
      );

      // A run that opens a PR, then a review comment with /airlock on it.
      upstream.define("first.0", call("write_file", { path: "docs/notes.md", content: "first\n" }));
      upstream.define("first.1", call("finish", { summary: "Added notes." }));
      // On another issue: a task holds every trusted text of its issue, and the first issue's
      // script marker would steer this run too.
      const docsIssue = gh.createIssue(full, { title: "Notes", body: "We need notes.", user: "maintainer" });
      const retry = gh.addIssueComment(full, docsIssue.number, {
        body: "/airlock run Write docs/notes.md. [[script:first]]",
        user: "maintainer",
      });
      await deliverComment(full, docsIssue.number, retry.id, "maintainer");
      const second = await waitFor("the second run", async () => (await runsOf(full))[1]);
      const done = await published(second.id);
      assert.equal(done.state, "succeeded", diagnostics());
      const pr = gh.state.pulls.find((p) => p.repo === full && p.head === done.headBranch);
      assert.ok(pr, "a pull request was opened");
      const before = await gh.readBranch(full, done.headBranch!);

      upstream.define("follow.0", call("write_file", { path: "docs/notes.md", content: "first\nsecond\n" }));
      upstream.define("follow.1", call("finish", { summary: "Extended the notes." }));
      const review = gh.addReviewComment(full, pr.number, {
        body: "/airlock add a second line [[script:follow]]",
        user: "maintainer",
        path: "docs/notes.md",
        line: 1,
      });
      await gh.deliver(
        "pull_request_review_comment",
        gh.payloads.pullRequestReviewCommentCreated({
          repo: full,
          pull: pr.number,
          comment: review.id,
          sender: "maintainer",
        }),
      );
      const third = await waitFor("the follow-up run", async () => (await runsOf(full))[2]);
      const followed = await published(third.id);
      assert.equal(followed.state, "succeeded", diagnostics());
      assert.equal(followed.headBranch, done.headBranch);
      assert.equal(followed.followUpOf, done.id);
      const after = await gh.readBranch(full, done.headBranch!);
      assert.equal(after?.files["docs/notes.md"], "first\nsecond\n");
      assert.equal(after?.parent, before?.sha, "the follow-up commit sits on top of the PR's head");
      assert.equal(gh.state.pulls.filter((p) => p.repo === full).length, 1, "no second pull request");
      assert.ok(
        gh.state.comments.some(
          (c) => c.repo === full && c.issueNumber === pr.number && c.body.includes(third.id),
        ),
      );
      assert.deepEqual(gh.violations, [], diagnostics());
    });

    it("a runner killed with SIGKILL mid-run: after the lease lapses another runner takes the run and it ends with a comment; an app restart loses and doubles nothing", async () => {
      const full = `${owner}/crash`;
      upstream.define("crash.0", call("run_command", { argv: ["sleep", "60"] }));
      upstream.define("crash.1", call("finish", { summary: "slept" }));
      const issue = gh.createIssue(full, {
        title: "Crash test",
        body: "Work slowly. [[script:crash]]",
        user: "maintainer",
      });
      const payload = gh.payloads.issuesLabeled({
        repo: full,
        issue: issue.number,
        label: "airlock:builtin",
        sender: "maintainer",
      });
      const deliveryId = randomUUID();
      await gh.deliver("issues", payload, { deliveryId });
      const queued = await firstRun(full);
      await agentContainerOf(queued.id);

      // The app restarts mid-run, and GitHub redelivers the same webhook to the new process.
      await app!.stop("SIGTERM");
      app = w.app = await startAirlockProcess("app", w.env);
      gh.setWebhookUrl(`${app.url}/api/github/webhooks`);
      assert.equal((await gh.deliver("issues", payload, { deliveryId })).status, 200);

      // The runner dies hard; its container keeps running, its proxy is gone.
      const dead = runners.shift()!;
      await dead.stop("SIGKILL");
      // The second attempt finishes quickly.
      upstream.define("crash.0", call("write_file", { path: "CRASH.md", content: "survived\n" }));
      upstream.define("crash.1", call("finish", { summary: "Wrote CRASH.md after a restart." }));
      await w.startRunner(runnerIds.b);

      const run = await published(queued.id);
      assert.equal(run.state, "succeeded", diagnostics());
      assert.equal(run.attempt, 2);
      // The runner gives the lease back just after marking the run published (two writes later).
      await waitFor(
        "the lease to be released",
        async () => {
          const [row] = await db.select().from(runs).where(eq(runs.id, run.id));
          return row?.leaseOwner === null ? true : undefined;
        },
        30_000,
      );
      assert.equal((await runsOf(full)).length, 1, "the redelivery did not start a second run");
      const ledger = await db.select().from(auditEvents).where(eq(auditEvents.runId, run.id));
      assert.ok(ledger.some((e) => e.type === "run.reclaimed"));
      assert.deepEqual((await verifyAuditChain(db, run.id, tokenSecret)).ok, true);
      // The dead runner's container was removed by the one that took over.
      assert.deepEqual(await runtime.listContainers({ [sandboxLabelKeys.runnerId]: runnerIds.a }), []);
      const pulls = gh.state.pulls.filter((p) => p.repo === full);
      assert.equal(pulls.length, 1);
      const results = gh.state.comments.filter(
        (c) =>
          c.repo === full &&
          c.issueNumber === issue.number &&
          c.body.includes(`<!-- airlock:result:${run.id} -->`),
      );
      assert.equal(results.length, 1, "one result comment");
      const trackers = gh.state.comments.filter(
        (c) => c.repo === full && c.body.includes(`<!-- airlock:tracking:${run.id} -->`),
      );
      assert.equal(trackers.length, 1, "one tracking comment");
      const branch = await gh.readBranch(full, run.headBranch!);
      assert.equal(branch?.files["CRASH.md"], "survived\n");

      // A runner that dies while publishing leaves the run finished but unpublished; the next
      // runner publishes it again, and finds the pull request and comments instead of doubling them.
      await db.update(runs).set({ publishedAt: null }).where(eq(runs.id, run.id));
      await published(run.id);
      assert.equal(gh.state.pulls.filter((p) => p.repo === full).length, 1);
      const marked = (kind: string) =>
        gh.state.comments.filter(
          (c) => c.repo === full && c.body.includes(`<!-- airlock:${kind}:${run.id} -->`),
        );
      assert.equal(marked("result").length, 1, "one result comment after publishing twice");
      assert.equal(marked("tracking").length, 1, "one tracking comment after publishing twice");
      const stale = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(runs)
        .where(and(eq(runs.repo, full), sql`${runs.publishedAt} is null`));
      assert.equal(stale[0]?.n, 0);
      assert.deepEqual(gh.violations, [], diagnostics());
    });
  },
);
