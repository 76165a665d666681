import { createHash } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { decideCapabilityRequest, recordCapabilityRequest } from "../../core/db/capability-requests.ts";
import type { Db } from "../../core/db/open-database.ts";
import { insertRun, setRunPullNumber, setRunState } from "../../core/db/runs.ts";
import { auditEvents, llmCalls, runs } from "../../core/db/schema.ts";
import type { RunState } from "../../core/run-states.ts";

/** The runs seedRunHistory writes, by role. */
export interface SeededHistory {
  /** octo-org/alpha, succeeded: calls, a granted capability, an image, files changed and held back, a PR. */
  finished: string;
  /** octo-org/alpha, failed: one upstream error. */
  failed: string;
  /** octo-org/beta, succeeded, then one ledger entry changed behind Airlock's back. */
  tampered: string;
  /** octo-org/<script>: a repository name that must come out escaped. */
  hostile: string;
  /** Queued runs in octo-org/gamma, enough to need a second page. */
  queued: string[];
  approver: string;
  imageId: string;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const hour = 3_600_000;

/**
 * Runs as Airlock records them, written through the same functions the app, the runner
 * and the proxy use (states, ledger, capability requests); llm_calls rows are written as
 * the proxy's recorder writes them, each chained in the ledger. Times are spread over
 * three days before `base` so the per-day totals have several rows.
 */
export async function seedRunHistory(db: Db, secret: string, base = new Date()): Promise<SeededHistory> {
  const approver = "maintainer-mona";
  const imageId = `sha256:${sha("airlock/builtin image")}`;
  const at = (hoursAgo: number) => new Date(base.getTime() - hoursAgo * hour);

  const record = async (id: string, repo: string, issue: number, createdAt: Date): Promise<void> => {
    await insertRun(db, {
      id,
      kind: "github",
      agent: "builtin",
      repo,
      issueNumber: issue,
      model: "gpt-4.1-mini",
      cloneUrl: `https://github.com/${repo}.git`,
      createdAt,
      updatedAt: createdAt,
    });
    await appendAuditEvent(db, {
      runId: id,
      type: "run.requested",
      secret,
      at: createdAt,
      data: {
        trigger: { event: "issues.labeled", kind: "label", sender: "octocat" },
        sender: "octocat",
        agent: "builtin",
        model: "gpt-4.1-mini",
        issue,
        repo,
        budget: { usd: 2, tokens: 200_000 },
        deliveryId: `delivery-${id}`,
      },
    });
  };
  const walk = async (id: string, states: readonly RunState[], reason?: string): Promise<void> => {
    for (const state of states) await setRunState(db, id, state, { reason });
  };
  const finishAfter = async (id: string, seconds: number): Promise<void> => {
    await db
      .update(runs)
      .set({
        startedAt: sql`${runs.createdAt} + interval '2 seconds'`,
        finishedAt: sql`${runs.createdAt} + make_interval(secs => ${seconds})`,
      })
      .where(eq(runs.id, id));
  };
  const call = async (
    runId: string,
    startedAt: Date,
    c: { model: string; status: number; input: number; output: number; cost: string; error?: string },
  ): Promise<void> => {
    const requestBody = JSON.stringify({ model: c.model, messages: [{ role: "user", content: "fix it" }] });
    const responseBody =
      c.status === 200 ? JSON.stringify({ choices: [{ message: { content: "done" } }] }) : null;
    const [row] = await db
      .insert(llmCalls)
      .values({
        runId,
        attempt: 1,
        provider: "openai",
        model: c.model,
        endpoint: "/v1/chat/completions",
        status: c.status,
        error: c.error ?? null,
        startedAt,
        latencyMs: 840,
        inputTokens: c.input,
        outputTokens: c.output,
        costUsd: c.cost,
        requestBody,
        responseBody,
      })
      .returning();
    if (!row) throw new Error("llm_calls insert returned nothing");
    await appendAuditEvent(db, {
      runId,
      type: "llm.call",
      secret,
      at: startedAt,
      data: {
        id: row.id,
        attempt: 1,
        provider: "openai",
        model: c.model,
        endpoint: "/v1/chat/completions",
        status: c.status,
        refusal: null,
        inputTokens: c.input,
        outputTokens: c.output,
        cacheReadTokens: 0,
        cacheCreationTokens: 0,
        costUsd: c.cost,
        priced: true,
        clientAborted: false,
        requestSha256: sha(requestBody),
        responseSha256: responseBody === null ? null : sha(responseBody),
      },
    });
  };

  // 1. A run that went the whole way: a capability asked for and granted, three calls, a PR.
  const finished = "rhist-finished";
  await record(finished, "octo-org/alpha", 12, at(50));
  await walk(finished, ["preparing", "running"]);
  await appendAuditEvent(db, {
    runId: finished,
    type: "image.ready",
    secret,
    data: { ref: "airlock/builtin:3f9a", id: imageId },
  });
  await call(finished, at(49.9), {
    model: "gpt-4.1-mini",
    status: 200,
    input: 1200,
    output: 300,
    cost: "0.0009600000",
  });
  const asked = await recordCapabilityRequest(db, {
    runId: finished,
    request: { kind: "npm", name: "left-pad", version: "1.3.0", reason: "the tests import it" },
    secret,
  });
  if (asked.kind !== "created") throw new Error(`capability request not created: ${asked.kind}`);
  await walk(finished, ["awaiting_approval"]);
  await decideCapabilityRequest(db, {
    runId: finished,
    id: asked.request.id,
    state: "granted",
    by: approver,
    secret,
  });
  await walk(finished, ["running"]);
  await call(finished, at(49.5), {
    model: "gpt-4.1-mini",
    status: 200,
    input: 2400,
    output: 650,
    cost: "0.0020000000",
  });
  await call(finished, at(49.4), {
    model: "gpt-4.1",
    status: 200,
    input: 800,
    output: 120,
    cost: "0.0025600000",
  });
  await walk(finished, ["publishing"]);
  const started = await appendAuditEvent(db, {
    runId: finished,
    type: "relay.started",
    secret,
    data: { branch: "airlock/12-rhist-finished", baseCommit: "a".repeat(40) },
  });
  await appendAuditEvent(db, {
    runId: finished,
    type: "relay.committed",
    secret,
    data: {
      branch: "airlock/12-rhist-finished",
      commit: "b".repeat(40),
      auditHeadInTrailer: started.hash,
      filesChanged: [
        { path: "src/pad.ts", change: "modified" },
        { path: "test/pad.test.ts", change: "added" },
      ],
      heldBack: [
        { path: ".github/workflows/ci.yml", reason: "workflow changes are not pushed unless allowed" },
      ],
      refused: [],
      refusedOmitted: 0,
    },
  });
  await walk(finished, ["succeeded"], "the agent finished");
  await finishAfter(finished, 754);
  await setRunPullNumber(db, finished, 31);

  // 2. A failed run in the same repository.
  const failed = "rhist-failed";
  await record(failed, "octo-org/alpha", 14, at(26));
  await walk(failed, ["preparing", "running"]);
  await call(failed, at(25.9), {
    model: "gpt-4.1-mini",
    status: 502,
    input: 0,
    output: 0,
    cost: "0",
    error: "upstream 502",
  });
  await walk(failed, ["failed"], "the agent exited with 1");
  await finishAfter(failed, 95);

  // 3. A run whose ledger was changed after the fact: the page must say it does not verify.
  const tampered = "rhist-tampered";
  await record(tampered, "octo-org/beta", 3, at(25));
  await walk(tampered, ["preparing", "running"]);
  await call(tampered, at(24.9), {
    model: "gpt-4.1-mini",
    status: 200,
    input: 500,
    output: 90,
    cost: "0.0003400000",
  });
  await walk(tampered, ["succeeded"]);
  await finishAfter(tampered, 61);
  await db
    .update(auditEvents)
    .set({ data: sql`jsonb_set(${auditEvents.data}, '{outputTokens}', '9')` })
    .where(and(eq(auditEvents.runId, tampered), eq(auditEvents.type, "llm.call")));

  // 4. A repository name made to break out of the HTML.
  const hostile = "rhist-hostile";
  await record(hostile, `octo-org/<script>alert("x")</script>`, 1, at(2));

  // 5. Enough queued runs for a second page of 25.
  const queued: string[] = [];
  for (let i = 0; i < 27; i += 1) {
    const id = `rhist-queued-${String(i).padStart(2, "0")}`;
    await record(id, "octo-org/gamma", 100 + i, at(1 - i / 60));
    queued.push(id);
  }
  return { finished, failed, tampered, hostile, queued, approver, imageId };
}
