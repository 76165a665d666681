import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { asc, eq } from "drizzle-orm";
import { getAgent } from "../../core/agents/get-agent.ts";
import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { hashImageGrants } from "../../core/capabilities/hash-image-grants.ts";
import { parseActionsImage } from "../../core/db/actions-image.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { auditEvents, type Run } from "../../core/db/schema.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { git } from "../helpers/git-repo.ts";
import { playActionsRunner } from "../action/play-actions-runner.ts";
import type { ReviewComment, WorkflowRun } from "../stand-ins/github/github-state.ts";
import { e2eOwner, startE2eWorld, type E2eWorld } from "./start-e2e-world.ts";

const execFileAsync = promisify(execFile);
const registry = "127.0.0.1:5000/airlock-e2e/images";
const templateUrl = new URL("../../action/airlock-image.yml", import.meta.url);

function call(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

type Message = { role: string; content: unknown };

/**
 * Issue 11 end to end: `images.build: actions`. The real app and runner processes, real
 * Docker and Postgres; GitHub is the strict stand-in, which models the dispatch, the
 * workflow's token and its `workflow_run.completed`; the test plays the Actions runner
 * (action/dist/index.js, pushing to the local registry on 127.0.0.1:5000).
 */
describe(
  "capabilities built on GitHub Actions, end to end (app + runner, Docker, local registry)",
  { skip: process.env.TEST_DATABASE_URL ? undefined : "TEST_DATABASE_URL is not set" },
  () => {
    let w: E2eWorld;
    let tmp: string;
    let template: string;
    const actionsConfig = `images:\n  build: actions\n  registry: ${registry}\n`;

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), "airlock-e2e-actions-"));
      template = await readFile(templateUrl, "utf8");
      const registryUp = await fetch("http://127.0.0.1:5000/v2/").catch(() => undefined);
      assert.ok(registryUp?.ok, "no registry on 127.0.0.1:5000: run scripts/start-services.sh");
      w = await startE2eWorld({
        installationPermissions: {
          metadata: "read",
          contents: "write",
          issues: "write",
          pull_requests: "write",
          checks: "write",
          actions: "write",
        },
      });
      // The operator publishes the runners' agent image where the workflow pulls it.
      const agent = await buildAgentImage(w.runtime, { agent: getAgent("builtin") });
      await execFileAsync("docker", ["tag", agent.ref, `${registry}:builtin`]);
      await execFileAsync("docker", ["push", "--quiet", `${registry}:builtin`]);
      const files = {
        ".github/airlock.yml": actionsConfig,
        ".github/workflows/airlock-image.yml": template,
      };
      await w.newRepo("acts-ok", files);
      await w.newRepo("acts-fail", files);
      await w.newRepo("acts-mismatch", files);
      await w.newRepo("acts-missing", { ".github/airlock.yml": actionsConfig });
      await w.newRepo("acts-tampered", files);
      await w.startRunner(`acts-runner-${process.pid}`);
    });

    after(async () => {
      await w?.close();
      await rm(tmp, { recursive: true, force: true });
    });

    async function askAndPark(repo: string, script: string, followUp: ReturnType<typeof call>[]) {
      w.upstream.define(
        `${script}.0`,
        call("request_capability", { kind: "apt", name: "jq", reason: "to read data.json" }),
      );
      w.upstream.define(`${script}.1`, call("finish", { summary: "Waiting for apt:jq." }));
      followUp.forEach((step, i) => w.upstream.define(`${script}.${i + 2}`, step));
      const issue = w.gh.createIssue(repo, {
        title: "Read data",
        body: `Read it. [[script:${script}]]`,
        user: "maintainer",
      });
      const labeled = await w.gh.deliver(
        "issues",
        w.gh.payloads.issuesLabeled({
          repo,
          issue: issue.number,
          label: "airlock:builtin",
          sender: "maintainer",
        }),
      );
      assert.equal(labeled.status, 200);
      const run = await w.waitFor(`a parked run in ${repo}`, async () => {
        const [r] = await w.runsOf(repo);
        return r?.state === "awaiting_approval" && r.prNumber !== null && r.leaseOwner === null
          ? r
          : undefined;
      });
      const thread = await w.waitFor("the review comment", async () =>
        w.gh.state.reviewComments.find(
          (c) =>
            c.repo === repo &&
            c.pullNumber === run.prNumber &&
            c.inReplyToId === null &&
            c.path === capabilitiesFilePath,
        ),
      );
      return { run, pr: run.prNumber!, thread };
    }

    async function approve(repo: string, pr: number) {
      const review = await w.gh.addReview(repo, pr, { user: "maintainer", state: "APPROVED" });
      const answer = await w.gh.deliver(
        "pull_request_review",
        w.gh.payloads.pullRequestReviewSubmitted({ repo, pull: pr, review }),
        { deliveryId: randomUUID() },
      );
      assert.equal(answer.status, 200, answer.body);
    }

    async function dispatched(repo: string, run: Run): Promise<WorkflowRun> {
      const workflowRun = await w.waitFor("the dispatched workflow run", async () =>
        w.gh.state.workflowRuns.find((r) => r.repo === repo && r.inputs.run_id === run.id),
      );
      await w.waitFor("the run to record its workflow run", async () => {
        const r = await w.getRun(run.id);
        return parseActionsImage(r?.actionsImage, run.id)?.workflowRunId === workflowRun.id ? r : undefined;
      });
      return workflowRun;
    }

    async function published(runId: string): Promise<Run> {
      return w.waitFor(
        `run ${runId} to be published`,
        async () => {
          const r = await w.getRun(runId);
          return r?.publishedAt ? r : undefined;
        },
        240_000,
      );
    }

    const botReplies = (thread: ReviewComment) =>
      w.gh.state.reviewComments.filter((c) => c.inReplyToId === thread.id && c.user === w.gh.botUser.login);

    function toolResult(script: string): string {
      const request = w.upstream.requests.find((r) => r.script === script);
      const messages = (request?.body as { messages?: Message[] } | undefined)?.messages;
      return String(messages?.findLast((m) => m.role === "tool")?.content);
    }

    it("approve → dispatch → the Action builds and pushes → workflow_run.completed → the runner pulls by digest, checks the labels, resumes → PR", async (t) => {
      const repo = `${e2eOwner}/acts-ok`;
      const { run, pr } = await askAndPark(repo, "acts-ok", [
        call("run_command", { argv: ["jq", "--version"] }),
        call("finish", { summary: "Used jq from the workflow's image." }),
      ]);
      await approve(repo, pr);
      const workflowRun = await dispatched(repo, run);
      const head = (await w.gh.readBranch(repo, run.headBranch!))!.sha;
      assert.deepEqual(workflowRun.inputs, {
        run_id: run.id,
        commit_sha: head,
        capabilities_file: ".github/airlock/capabilities.yml",
        agent: "builtin",
        base_image: `${registry}:builtin`,
        registry: "127.0.0.1:5000",
        image: "airlock-e2e/images",
        grants: "apt:jq",
        grants_sha256: hashImageGrants([{ kind: "apt", name: "jq" }]),
      });
      const waiting = await w.getRun(run.id);
      assert.equal(waiting?.state, "awaiting_image");
      assert.equal(waiting?.leaseOwner, null, "no runner holds a run whose image is being built");

      const ran = await playActionsRunner({
        gh: w.gh,
        workflowRunId: workflowRun.id,
        workflowText: template,
        tmpDir: tmp,
      });
      assert.equal(ran.exitCode, 0, ran.stdout + ran.stderr);
      // The Action ran on this machine's engine: remove what it built, so the runner pulls
      // the granted layer from the registry like a runner on another machine would.
      await execFileAsync("docker", ["image", "rm", "--force", ran.outputs.image!.split("@")[0]!]);
      await assert.rejects(execFileAsync("docker", ["image", "inspect", ran.outputs.image!]));
      const completedAt = Date.now();
      assert.equal((await w.gh.completeWorkflowRun(workflowRun.id, "success")).status, 200);
      const resumedEvent = await w.waitFor("the run to resume", async () =>
        (await w.db.select().from(auditEvents).where(eq(auditEvents.runId, run.id))).find(
          (e) => e.type === "run.resumed",
        ),
      );
      t.diagnostic(
        `workflow_run.completed to run.resumed (app records, runner claims, pulls, checks labels): ${
          resumedEvent.at.getTime() - completedAt
        } ms`,
      );
      const pulled = /"pullMs":(\d+)[^\n]*resuming on the workflow's image/.exec(w.runners[0]!.logs());
      assert.ok(pulled, "the runner logs the pull");
      t.diagnostic(`the runner's pull by digest and label check: ${pulled[1]} ms`);
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      assert.match(toolResult("acts-ok.3"), /jq-1\.6/, "the resumed agent ran jq from the pulled image");
      const images = (
        await w.db
          .select()
          .from(auditEvents)
          .where(eq(auditEvents.runId, run.id))
          .orderBy(asc(auditEvents.seq))
      )
        .filter((e) => e.type === "image.ready")
        .map((e) => e.data as { ref: string });
      assert.equal(images[1]?.ref, ran.outputs.image, "the segment ran on the image the workflow pushed");
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "granted");
      assert.deepEqual(w.gh.violations, [], w.diagnostics());
    });

    it("a failed workflow: the thread is told, the run resumes without the grant", async () => {
      const repo = `${e2eOwner}/acts-fail`;
      const { run, pr, thread } = await askAndPark(repo, "acts-fail", [
        call("finish", { summary: "Did without jq." }),
      ]);
      await approve(repo, pr);
      const workflowRun = await dispatched(repo, run);
      await w.gh.completeWorkflowRun(workflowRun.id, "failure");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      const reply = await w.waitFor("the failure on the thread", async () =>
        botReplies(thread).find((c) => c.body.includes("image workflow ended failure")),
      );
      assert.match(reply.body, /apt:jq|jq/);
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "failed");
    });

    it("an image whose labels do not match the approval is refused by the runner", async () => {
      const repo = `${e2eOwner}/acts-mismatch`;
      const { run, pr, thread } = await askAndPark(repo, "acts-mismatch", [
        call("finish", { summary: "Did without jq." }),
      ]);
      await approve(repo, pr);
      const workflowRun = await dispatched(repo, run);
      const ran = await playActionsRunner({
        gh: w.gh,
        workflowRunId: workflowRun.id,
        workflowText: template,
        tmpDir: tmp,
      });
      assert.equal(ran.exitCode, 0, ran.stdout + ran.stderr);
      // A forged report: a digest of an image built for another run (its airlock.run label
      // names acts-ok's run), with this dispatch's grants hash.
      const other = (await w.runsOf(`${e2eOwner}/acts-ok`))[0]!;
      const otherImage = parseActionsImage(other.actionsImage, other.id)?.image;
      assert.ok(otherImage, "the first case's image");
      const check = w.gh.state.checkRuns.find((c) => c.repo === repo && c.externalId === run.id)!;
      const report = JSON.parse(check.output.text!) as { image: string };
      check.output.text = JSON.stringify({ ...report, image: otherImage });
      await w.gh.completeWorkflowRun(workflowRun.id, "success");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      const reply = await w.waitFor("the refusal on the thread", async () =>
        botReplies(thread).find((c) => c.body.includes("does not match what was approved")),
      );
      assert.match(reply.body, /label airlock\.run is "[^"]+", expected /);
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "failed");
    });

    it("a capabilities file changed on the branch before the approval: the Action refuses the approved grant, the thread says why", async () => {
      const repo = `${e2eOwner}/acts-tampered`;
      const { run, pr, thread } = await askAndPark(repo, "acts-tampered", [
        call("finish", { summary: "Did without jq." }),
      ]);
      // Someone with push access rewrites the request on the branch (jq → curl), hoping the
      // maintainer's approval of the new head builds it.
      const bare = w.gh.state.repos.get(repo.toLowerCase())!.gitDir;
      const clone = await mkdtemp(join(tmp, "tamper-"));
      git(clone, ["clone", "--quiet", "--branch", run.headBranch!, bare, "."]);
      const text = await readFile(join(clone, capabilitiesFilePath), "utf8");
      assert.match(text, /name: jq/);
      await writeFile(join(clone, capabilitiesFilePath), text.replace("name: jq", "name: curl"));
      git(clone, ["commit", "--quiet", "-am", "ask for curl instead"]);
      git(clone, ["push", "--quiet", "origin", run.headBranch!]);
      await approve(repo, pr);
      const workflowRun = await dispatched(repo, run);
      assert.equal(workflowRun.inputs.grants, "apt:jq", "the app dispatches what it recorded, not the file");
      const ran = await playActionsRunner({
        gh: w.gh,
        workflowRunId: workflowRun.id,
        workflowText: template,
        tmpDir: tmp,
      });
      assert.equal(ran.exitCode, 1, ran.stdout);
      assert.match(
        ran.stdout,
        /::error::refused apt:jq: not asked for run [^ ]+ in .* \(it lists apt:curl\)/,
      );
      await w.gh.completeWorkflowRun(workflowRun.id, "failure");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      const reply = await w.waitFor("the refusal on the thread", async () =>
        botReplies(thread).find((c) => c.body.includes("refused apt:jq")),
      );
      assert.match(reply.body, /image workflow ended failure/);
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "failed");
    });

    it("no workflow file: the reply says exactly what to add, and the run resumes without the grant", async () => {
      const repo = `${e2eOwner}/acts-missing`;
      const { run, pr } = await askAndPark(repo, "acts-missing", [
        call("finish", { summary: "Did without jq." }),
      ]);
      await approve(repo, pr);
      const comment = await w.waitFor("the reply naming the file", async () =>
        w.gh.state.comments.find(
          (c) => c.repo === repo && c.issueNumber === pr && c.body.includes("airlock-image.yml"),
        ),
      );
      assert.match(comment.body, /add `\.github\/workflows\/airlock-image\.yml` to `main`/);
      assert.ok(comment.body.includes(template.trimEnd()), "the template, verbatim");
      const done = await published(run.id);
      assert.equal(done.state, "succeeded", `${done.outcomeReason}${w.diagnostics()}`);
      assert.equal((await listCapabilityRequests(w.db, run.id))[0]?.state, "failed");
      assert.equal(w.gh.state.workflowRuns.filter((r) => r.repo === repo).length, 0);
    });
  },
);
