import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { getAgent } from "../../core/agents/get-agent.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { parseCapabilitiesFile } from "../../core/capabilities/parse-capabilities-file.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { checkRunEventData } from "../../core/db/run-event-schemas.ts";
import { listRunEvents } from "../../core/db/runs.ts";
import { auditEvents, type Run } from "../../core/db/schema.ts";
import { runPhases } from "../../core/run-phases.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import type { ReviewComment } from "../stand-ins/github/github-state.ts";
import { e2eOwner, e2eTokenSecret, startE2eWorld, type E2eWorld } from "./start-e2e-world.ts";

const runnerIds = { a: `caps-runner-a-${process.pid}`, b: `caps-runner-b-${process.pid}` };

function call(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

type Message = { role: string; content: unknown };

/**
 * Issue 10 end to end: the real `airlock app` and `airlock runner` processes, real Docker
 * (granted images rebuilt with apt), real Postgres and git over HTTP; GitHub is the strict
 * stand-in, the LLM the scripted upstream, one script per turn of the builtin agent's
 * conversation (turns 0–1 before the pause, 2… after it: the resumed conversation carries
 * the first two assistant turns). Each case has its own repository.
 */
describe(
  "capabilities through the pull-request review, end to end (app + runners, Docker, Postgres, git)",
  { skip: process.env.TEST_DATABASE_URL ? undefined : "TEST_DATABASE_URL is not set" },
  () => {
    let w: E2eWorld;

    before(async () => {
      w = await startE2eWorld();
      // Built once here so that no run pays the first build inside its deadline.
      await buildAgentImage(w.runtime, { agent: getAgent("builtin") });
      // Every repository exists before the app's first installation token is minted (Probot
      // caches the token, and the stand-in scopes it to the repositories of that moment).
      await w.newRepo("caps-approve", { "data.json": '{"a":1}\n' });
      await w.newRepo("caps-deny", { ".github/airlock.yml": "require_distinct_approver: true\n" });
      await w.newRepo("caps-kill");
      await w.newRepo("caps-fail");
      await w.newRepo("caps-timeout", { ".github/airlock.yml": "approval_timeout: 2s\n" });
      await w.startRunner(runnerIds.a);
    });

    after(async () => {
      await w?.close();
    });

    function label(repo: string, script: string, title: string) {
      const issue = w.gh.createIssue(repo, {
        title,
        body: `${title}. [[script:${script}]]`,
        user: "maintainer",
      });
      return w.gh.deliver(
        "issues",
        w.gh.payloads.issuesLabeled({
          repo,
          issue: issue.number,
          label: "airlock:builtin",
          sender: "maintainer",
        }),
      );
    }

    /** The agent asks for `name` with `reason` (turn 0) and finishes its turn (turn 1). */
    function defineAsk(script: string, kind: string, name: string, reason: string) {
      w.upstream.define(`${script}.0`, call("request_capability", { kind, name, reason }));
      w.upstream.define(`${script}.1`, call("finish", { summary: `Waiting for ${kind}:${name}.` }));
    }

    async function parked(repo: string): Promise<{ run: Run; pr: number; thread: ReviewComment }> {
      const run = await w.waitFor(`a parked run in ${repo}`, async () => {
        const [r] = await w.runsOf(repo);
        return r?.state === "awaiting_approval" && r.prNumber !== null && r.leaseOwner === null
          ? r
          : undefined;
      });
      const thread = await w.waitFor(`the review comment on ${capabilitiesFilePath}`, async () =>
        w.gh.state.reviewComments.find(
          (c) =>
            c.repo === repo &&
            c.pullNumber === run.prNumber &&
            c.user === w.gh.botUser.login &&
            c.inReplyToId === null &&
            c.path === capabilitiesFilePath,
        ),
      );
      return { run, pr: run.prNumber!, thread };
    }

    async function approve(repo: string, pr: number, user: string) {
      const review = await w.gh.addReview(repo, pr, { user, state: "APPROVED" });
      const answer = await w.gh.deliver(
        "pull_request_review",
        w.gh.payloads.pullRequestReviewSubmitted({ repo, pull: pr, review }),
        { deliveryId: randomUUID() },
      );
      assert.equal(answer.status, 200, answer.body);
    }

    async function replyInThread(repo: string, pr: number, thread: number, user: string, body: string) {
      const comment = w.gh.addReviewComment(repo, pr, { body, user, path: "", inReplyTo: thread });
      const answer = await w.gh.deliver(
        "pull_request_review_comment",
        w.gh.payloads.pullRequestReviewCommentCreated({ repo, pull: pr, comment }),
      );
      assert.equal(answer.status, 200, answer.body);
    }

    const botReplies = (thread: number) =>
      w.gh.state.reviewComments.filter((c) => c.inReplyToId === thread && c.user === w.gh.botUser.login);

    async function published(runId: string, timeoutMs = 180_000): Promise<Run> {
      return w.waitFor(
        `run ${runId} to be published`,
        async () => {
          const run = await w.getRun(runId);
          return run?.publishedAt ? run : undefined;
        },
        timeoutMs,
      );
    }

    function lastUserMessage(script: string): string {
      const request = w.upstream.requests.find((r) => r.script === script);
      const messages = (request?.body as { messages?: Message[] } | undefined)?.messages;
      assert.ok(messages, `the model was never called for ${script}${w.diagnostics()}`);
      return String(messages.findLast((m) => m.role === "user")?.content);
    }

    function toolResult(script: string): string {
      const request = w.upstream.requests.find((r) => r.script === script);
      const messages = (request?.body as { messages?: Message[] } | undefined)?.messages;
      return String(messages?.findLast((m) => m.role === "tool")?.content);
    }

    it("apt:jq: the review comment sits on its line with the facts; a reader's approval is refused; the maintainer's approval rebuilds the image, the agent uses jq, and the PR carries the decisions and the blocked egress", async () => {
      const repo = `${e2eOwner}/caps-approve`;
      defineAsk("approve", "apt", "jq", "to pretty-print data.json");
      w.upstream.define("approve.2", call("run_command", { argv: ["jq", "--version"] }));
      w.upstream.define(
        "approve.3",
        call("run_command", {
          argv: [
            "node",
            "-e",
            "fetch('https://not-granted.example/').then((r) => console.log(r.status), (e) => console.log('refused', String(e.cause ?? e)))",
          ],
        }),
      );
      w.upstream.define("approve.4", call("finish", { summary: "Used jq." }));
      assert.equal((await label(repo, "approve", "Pretty-print data.json")).status, 200);
      const { run, pr, thread } = await parked(repo);

      // The review: one, by Airlock, on the pushed commit; the comment on jq's line.
      const file = await w.gh.readBranch(repo, run.headBranch!);
      const entries = parseCapabilitiesFile(file!.files[capabilitiesFilePath]!);
      assert.deepEqual(
        entries.map((e) => [e.kind, e.name, e.state, e.run]),
        [["apt", "jq", "pending", run.id]],
      );
      const lines = file!.files[capabilitiesFilePath]!.split("\n");
      assert.match(lines[thread.line! - 1] ?? "", /jq/, `the comment is on line ${thread.line}`);
      assert.match(thread.body, /to pretty-print data\.json/);
      assert.match(thread.body, /Candidate version: `1\.6/);
      assert.match(thread.body, /\/approve/);
      assert.equal(
        w.gh.state.reviews.filter((r) => r.repo === repo && r.user === w.gh.botUser.login).length,
        1,
      );

      // A reader cannot decide.
      await approve(repo, pr, "reader");
      await w.waitFor("the reader's refusal", async () =>
        w.gh.state.comments.find(
          (c) => c.repo === repo && c.issueNumber === pr && c.body.includes("@reader"),
        ),
      );
      assert.equal((await w.getRun(run.id))?.state, "awaiting_approval");

      await approve(repo, pr, "maintainer");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      assert.equal(done.segment, 1);
      assert.match(lastUserMessage("approve.2"), /apt:jq: GRANTED by maintainer/);
      assert.match(toolResult("approve.3"), /jq-1\.6/);
      assert.match(toolResult("approve.4"), /refused|403/);

      const [request] = await listCapabilityRequests(w.db, run.id);
      assert.equal(request?.state, "granted");
      assert.equal(request?.decidedBy, "maintainer");
      const body = w.gh.state.pulls.find((p) => p.repo === repo && p.number === pr)!.body;
      assert.match(body, /- `apt:jq`: \*\*granted\*\* by `maintainer` at \d{4}-/);
      assert.match(body, /- dpkg `jq` 1\.6/);
      assert.match(body, /- `not-granted\.example`: 1 attempt/);
      const ledger = await w.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.runId, run.id))
        .orderBy(asc(auditEvents.seq));
      const images = ledger
        .filter((e) => e.type === "image.ready")
        .map((e) => e.data as { id: string; grants?: unknown });
      assert.equal(images.length, 2);
      assert.deepEqual(images[1]?.grants, [{ kind: "apt", name: "jq" }]);
      assert.ok(body.includes(images[1]!.id), "the PR names the granted image");
      assert.equal((await verifyAuditChain(w.db, run.id, e2eTokenSecret)).ok, true);
      const branch = await w.gh.readBranch(repo, run.headBranch!);
      assert.deepEqual(
        parseCapabilitiesFile(branch!.files[capabilitiesFilePath]!).map((e) => [
          e.name,
          e.state,
          e.decided_by,
        ]),
        [["jq", "granted", "maintainer"]],
      );

      // Issue 15: both segments' phases are stored, each complete and in order (the first
      // ends in the pause's push and review), and the wait for the maintainer stands apart.
      const phases = await w.waitFor("the resumed segment's publish phase", async () => {
        const stored = (await listRunEvents(w.db, run.id))
          .filter((e) => e.type === "run.phase")
          .map((e) => checkRunEventData("run.phase", e.data));
        return stored.some((p) => p.segment === 1 && p.phase === "publish") ? stored : undefined;
      });
      assert.deepEqual(
        phases.map((p) => `${p.segment}:${p.phase}`),
        [0, 1].flatMap((segment) => runPhases.map((phase) => `${segment}:${phase}`)),
      );
      const waited = (await listRunEvents(w.db, run.id))
        .filter((e) => e.type === "run.waited")
        .map((e) => checkRunEventData("run.waited", e.data));
      assert.equal(waited.length, 1);
      assert.equal(waited[0]?.segment, 1);
      const wall = done.finishedAt!.getTime() - done.createdAt.getTime();
      assert.ok(
        waited[0]!.ms > 0 && waited[0]!.ms < wall,
        `waited ${waited[0]?.ms} ms of a run that took ${wall} ms`,
      );
      assert.match(body, /; waited \d+\.\d s for decisions; segment 1: queued \d+\.\d s, prepare /);
      assert.deepEqual(w.gh.violations, [], w.diagnostics());
    });

    it("/deny <why> under require_distinct_approver: the requester's /approve is refused, another maintainer's denial reaches the agent, which finishes without it", async () => {
      const repo = `${e2eOwner}/caps-deny`;
      defineAsk("deny", "apt", "jq", "to read JSON");
      w.upstream.define("deny.2", call("finish", { summary: "Did without jq." }));
      await label(repo, "deny", "Read the JSON");
      const { run, pr, thread } = await parked(repo);

      await replyInThread(repo, pr, thread.id, "maintainer", "/approve");
      const refusal = await w.waitFor("the requester's refusal", async () => botReplies(thread.id)[0]);
      assert.match(refusal.body, /@maintainer/);
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "pending");

      await replyInThread(repo, pr, thread.id, "maintainer2", "/deny use python3 -m json.tool instead");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      assert.match(
        lastUserMessage("deny.2"),
        /apt:jq: DENIED by maintainer2: use python3 -m json\.tool instead/,
      );
      const body = w.gh.state.pulls.find((p) => p.repo === repo && p.number === pr)!.body;
      assert.match(
        body,
        /- `apt:jq`: \*\*denied\*\* by `maintainer2` at [^:]+:\d\d:\d\dZ: use python3 -m json\.tool instead/,
      );
      assert.deepEqual(w.gh.violations, [], w.diagnostics());
    });

    it("a runner SIGKILLed while the run is parked: another runner resumes it after the approval", async () => {
      const repo = `${e2eOwner}/caps-kill`;
      defineAsk("kill", "apt", "jq", "to read JSON");
      w.upstream.define("kill.2", call("run_command", { argv: ["jq", "--version"] }));
      w.upstream.define("kill.3", call("finish", { summary: "Used jq after a restart." }));
      await label(repo, "kill", "Use jq");
      const { run, pr } = await parked(repo);
      const dead = w.runners.shift()!;
      await dead.stop("SIGKILL");
      await w.startRunner(runnerIds.b);
      await approve(repo, pr, "maintainer");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      assert.match(toolResult("kill.3"), /jq-1\.6/);
      const resumed = (await w.db.select().from(auditEvents).where(eq(auditEvents.runId, run.id))).find(
        (e) => e.type === "run.resumed",
      );
      assert.equal((resumed?.data as { runner?: string }).runner, runnerIds.b);
      assert.ok(
        (resumed?.data as { restored?: { files: number } | null }).restored,
        "the agent's state came from the database",
      );
    });

    it("a rebuild that fails is reported on the request's thread; the run resumes without it", async () => {
      const repo = `${e2eOwner}/caps-fail`;
      defineAsk("fail", "apt", "airlock-no-such-package", "to test a failure");
      w.upstream.define("fail.2", call("finish", { summary: "Did without it." }));
      await label(repo, "fail", "Try a missing package");
      const { run, pr, thread } = await parked(repo);
      await approve(repo, pr, "maintainer");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      const reply = await w.waitFor("the rebuild failure on the thread", async () =>
        botReplies(thread.id).find((c) => c.body.includes("failed")),
      );
      assert.match(reply.body, /Unable to locate package airlock-no-such-package/);
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "failed");
      assert.match(lastUserMessage("fail.2"), /installing it FAILED/);
    });

    it("the approval timeout ends the run capability_timeout, with its work in the pull request", async () => {
      const repo = `${e2eOwner}/caps-timeout`;
      defineAsk("timeout", "apt", "jq", "to read JSON");
      await label(repo, "timeout", "Wait forever");
      const [queued] = await w.waitFor("the run", async () => {
        const all = await w.runsOf(repo);
        return all.length > 0 ? all : undefined;
      });
      const done = await published(queued!.id);
      assert.equal(done.state, "capability_timeout", `${done.outcomeReason}${w.diagnostics()}`);
      const [request] = await listCapabilityRequests(w.db, done.id);
      assert.equal(request?.state, "timed_out");
      assert.ok(
        w.gh.state.pulls.some((p) => p.repo === repo && p.head === done.headBranch),
        "its work is in a PR",
      );
      assert.ok(
        w.gh.state.comments.some(
          (c) => c.repo === repo && c.body.includes(done.id) && c.body.includes("capability_timeout"),
        ),
        "the issue is told",
      );
    });
  },
);
