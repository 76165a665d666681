import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import type { Database } from "../../core/db/open-database.ts";
import { claimRun, getRun, insertRun } from "../../core/db/runs.ts";
import { auditEvents, llmCalls, runs } from "../../core/db/schema.ts";
import type { GitHubApp } from "../../core/github/github-api.ts";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { handleClaimedRun, type HandleClaimedRunDeps } from "../../runner/github-run/handle-claimed-run.ts";
import { locateCallJournalDir } from "../../runner/proxy/create-call-journal.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

const secret = "takeover-journal-secret-0123456789abcdefghij";
const journalModule = new URL("../../runner/proxy/create-call-journal.ts", import.meta.url).href;

/**
 * A process that journals one call as the proxy does just before forwarding it, says so,
 * and waits: the test SIGKILLs it, as a runner dies with a call in flight.
 */
async function journalCallThenDie(journalDir: string, runId: string, attempt: number): Promise<number> {
  const script = `
    const { createCallJournal } = await import(${JSON.stringify(journalModule)});
    const journal = createCallJournal({ dir: ${JSON.stringify(journalDir)} });
    journal.open({ runId: ${JSON.stringify(runId)}, attempt: ${attempt}, endpoint: "/v1/messages",
      model: "claude-sonnet-4-5", provider: "anthropic", tokens: 4096, units: 614400000,
      at: new Date().toISOString() });
    process.stdout.write("journaled\\n");
    setInterval(() => {}, 60_000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await once(child.stdout, "data");
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
  return child.pid!;
}

describe("a runner taking over a run from a killed attempt on this host", () => {
  let database: Database;
  let drop: () => Promise<void>;
  let dataDir: string;
  before(async () => {
    // A database of its own: claimRun looks at every run in the table.
    ({ database, drop } = await testDatabaseKinds()[0]!.openPrivate());
    dataDir = await mkdtemp(join(tmpdir(), "airlock-takeover-"));
  });
  after(async () => {
    await drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("records the old attempt's calls in flight before anything else it does with the run", async () => {
    const db = database.db;
    const id = newRunId();
    await insertRun(db, {
      id,
      kind: "github",
      state: "queued",
      repo: "o/r",
      issueNumber: 1,
      installationId: 1,
    });
    const first = await claimRun(db, { runnerId: "dead", leaseS: 60 });
    assert.equal(first?.attempt, 1);
    const journalDir = locateCallJournalDir(dataDir);
    const deadPid = await journalCallThenDie(journalDir, id, first.attempt);
    assert.equal((await readdir(journalDir)).length, 1);

    // The dead runner's lease runs out; another runner on this host claims the run.
    await db
      .update(runs)
      .set({ leaseExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(runs.id, id));
    const second = await claimRun(db, { runnerId: "alive", leaseS: 60 });
    assert.equal(second?.attempt, 2);
    // GitHub is not reachable here: publishing fails and, past one failure, is set aside.
    const githubApp = {
      forInstallation: () => ({}),
      createInstallationToken: () => Promise.reject(new Error("no GitHub in this test")),
    } as unknown as GitHubApp;
    const deps = {
      db,
      logger: createLogger("silent"),
      tokenSecret: secret,
      upstreams: {},
      dataDir,
      runnerId: "alive",
      githubApp,
      // Interrupted once too often: the run ends at once, without a sandbox (the journal's
      // recovery comes before this choice, so a run started again gets it first too).
      maxAttempts: 1,
      maxPublishFailures: 1,
    } as unknown as HandleClaimedRunDeps;
    await handleClaimedRun(deps, second, new AbortController().signal);

    assert.equal((await getRun(db, id))?.state, "failed");
    const rows = await db.select().from(llmCalls).where(eq(llmCalls.runId, id));
    assert.equal(rows.length, 1, "the killed attempt's call in flight is on the record");
    assert.equal(rows[0]!.attempt, 1);
    assert.equal(rows[0]!.status, 0);
    assert.equal(rows[0]!.inputTokens, 4096);
    assert.equal(Number(rows[0]!.costUsd), 0.06144);
    assert.match(rows[0]!.error ?? "", new RegExp(`process ${deadPid}\\) stopped before this call ended`));
    const ledger = await db
      .select({ type: auditEvents.type, seq: auditEvents.seq })
      .from(auditEvents)
      .where(eq(auditEvents.runId, id))
      .orderBy(asc(auditEvents.seq));
    const types = ledger.map((e) => e.type);
    assert.ok(types.includes("run.finished"), types.join(", "));
    assert.ok(
      types.indexOf("llm.call") < types.indexOf("run.finished"),
      `the recovered call precedes the run's end: ${types.join(", ")}`,
    );
    assert.equal((await verifyAuditChain(db, id, secret)).ok, true);
    assert.deepEqual(await readdir(journalDir), [], "the recovered journal is removed");
  });
});
