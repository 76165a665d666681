import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { auditHead } from "../../core/audit/audit-head.ts";
import { exportAuditChain } from "../../core/audit/export-audit-chain.ts";
import {
  GENESIS_HASH,
  hashAuditEntry,
  signAuditHash,
  signLegacyAuditHash,
} from "../../core/audit/hash-audit-entry.ts";
import { deriveKey } from "../../core/keys/derive-key.ts";
import { verifyAuditChain, verifyAuditEntries } from "../../core/audit/verify-audit-chain.ts";
import type { Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

const secret = "test-audit-secret-0123456789abcdef0123456789";

/** A well-formed llm.call entry's data (the ledger refuses any other shape). */
function callData(id: number, model = "gpt-4.1-mini") {
  return {
    id,
    attempt: 0,
    provider: "openai",
    model,
    endpoint: "/v1/chat/completions",
    status: 200,
    refusal: null,
    inputTokens: 10 + id,
    outputTokens: 2,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    costUsd: "0.0000010000",
    priced: true,
    clientAborted: false,
    requestSha256: "a".repeat(64),
    responseSha256: null,
  };
}

const startedData = {
  kind: "local" as const,
  agent: "builtin",
  repo: "/src/é ✓",
  model: "gpt-4.1-mini",
  budgetUsd: null,
  budgetTokens: 1000,
  timeoutS: 60,
  runner: "runner-1",
};

async function collectLines(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

for (const kind of testDatabaseKinds({ pglite: true })) {
  describe(`audit ledger on ${kind.name}`, { skip: kind.skip }, () => {
    let database: Database;
    before(async () => {
      database = await kind.open();
    });
    after(async () => {
      await database?.close();
    });

    /** A run with `count` entries: run.started, then llm.call with id i, each at a distinct ms. */
    async function seedChain(count: number): Promise<string> {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      for (let i = 1; i <= count; i++) {
        const at = new Date(Date.UTC(2026, 10, 22, 4, 0, 0, 100 + i));
        if (i === 1)
          await appendAuditEvent(database.db, { runId, type: "run.started", data: startedData, secret, at });
        else await appendAuditEvent(database.db, { runId, type: "llm.call", data: callData(i), secret, at });
      }
      return runId;
    }

    async function execute(query: ReturnType<typeof sql>): Promise<void> {
      await database.db.execute(query);
    }

    it("appends seq 1..N linked from the genesis hash, and the chain verifies", async () => {
      const runId = await seedChain(6);
      const result0 = await database.db.execute(
        sql`select seq, prev_hash, hash, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as at_ms,
              jsonb_typeof(data) as data_type
            from audit_events where run_id = ${runId} order by seq`,
      );
      // postgres.js returns the rows as an array, PGlite as `{ rows }`.
      const list = (Array.isArray(result0) ? result0 : (result0 as { rows: unknown[] }).rows) as {
        seq: number;
        prev_hash: string;
        hash: string;
        at_ms: string;
        data_type: string;
      }[];
      assert.deepEqual(
        list.map((r) => Number(r.seq)),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(list[0]?.prev_hash, GENESIS_HASH);
      for (let i = 1; i < list.length; i++) assert.equal(list[i]?.prev_hash, list[i - 1]?.hash);
      // Stored as a jsonb object (not a double-encoded string), at exactly the given millisecond.
      assert.ok(list.every((r) => r.data_type === "object"));
      assert.equal(list[2]?.at_ms, "2026-11-22T04:00:00.103000");

      const result = await verifyAuditChain(database.db, runId, secret);
      assert.deepEqual(result, { ok: true, count: 6, head: list[5]?.hash });
      assert.equal(await auditHead(database.db, runId), list[5]?.hash);
    });

    it("verifies although Postgres reorders the keys of stored jsonb", async () => {
      const runId = await seedChain(1);
      const [row] = await collectLines(exportAuditChain(database.db, runId));
      const readBack = await database.db.query.auditEvents.findFirst({
        where: (t, { eq }) => eq(t.runId, runId),
      });
      // jsonb orders keys by length: the read-back order differs from the written one.
      assert.deepEqual(Object.keys(readBack?.data ?? {}).slice(0, 3), ["kind", "repo", "agent"]);
      assert.notDeepEqual(Object.keys(readBack?.data ?? {}), Object.keys(startedData));
      assert.ok(row);
      assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
    });

    it("names a changed row by position (hash mismatch)", async () => {
      const runId = await seedChain(6);
      await execute(
        sql`update audit_events set data = jsonb_set(data, '{model}', '"y"') where run_id = ${runId} and seq = 4`,
      );
      const result = await verifyAuditChain(database.db, runId, secret);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.position, 4);
      assert.match(!result.ok ? result.reason : "", /hash mismatch/);
    });

    it("names a changed timestamp or type by position", async () => {
      const runId = await seedChain(4);
      await execute(
        sql`update audit_events set at = at + interval '1 millisecond' where run_id = ${runId} and seq = 2`,
      );
      const timeResult = await verifyAuditChain(database.db, runId, secret);
      assert.deepEqual(timeResult.ok ? undefined : [timeResult.position, /hash/.test(timeResult.reason)], [
        2,
        true,
      ]);

      const other = await seedChain(4);
      await execute(sql`update audit_events set type = 'llm.retry' where run_id = ${other} and seq = 3`);
      const typeResult = await verifyAuditChain(database.db, other, secret);
      assert.equal(typeResult.ok ? 0 : typeResult.position, 3);
    });

    it("names a deleted row by position, and a deleted-then-renumbered tail too", async () => {
      const runId = await seedChain(6);
      await execute(sql`delete from audit_events where run_id = ${runId} and seq = 3`);
      const gap = await verifyAuditChain(database.db, runId, secret);
      assert.equal(gap.ok, false);
      assert.equal(!gap.ok && gap.position, 3);
      assert.match(!gap.ok ? gap.reason : "", /found seq 4 where seq 3 belongs/);

      await execute(sql`update audit_events set seq = seq - 1 where run_id = ${runId} and seq > 3`);
      const renumbered = await verifyAuditChain(database.db, runId, secret);
      assert.equal(!renumbered.ok && renumbered.position, 3);
      assert.match(!renumbered.ok ? renumbered.reason : "", /prev_hash does not match the hash of entry 2/);
    });

    it("names two swapped rows by the first position", async () => {
      const runId = await seedChain(6);
      await execute(sql`update audit_events set seq = -4 where run_id = ${runId} and seq = 4`);
      await execute(sql`update audit_events set seq = 4 where run_id = ${runId} and seq = 5`);
      await execute(sql`update audit_events set seq = 5 where run_id = ${runId} and seq = -4`);
      const result = await verifyAuditChain(database.db, runId, secret);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.position, 4);
      assert.match(!result.ok ? result.reason : "", /prev_hash/);
    });

    it("catches a forged tail whose hashes were all recomputed without the secret (hmac)", async () => {
      const runId = await seedChain(6);
      const rows = await database.db.query.auditEvents.findMany({
        where: (t, { eq }) => eq(t.runId, runId),
        orderBy: (t, { asc }) => [asc(t.seq)],
      });
      // The forger edits entry 5 and re-chains 5..6 with a guessed key, so every sha256 link holds.
      let prevHash = rows[3]!.hash;
      for (const row of rows.slice(4)) {
        const data = row.seq === 5 ? { ...row.data, model: "forged" } : row.data;
        const hash = hashAuditEntry({ runId, seq: row.seq, at: row.at, type: row.type, data, prevHash });
        const hmac = signAuditHash("guessed-secret-guessed-secret-guessed", hash);
        await execute(
          sql`update audit_events set data = ${JSON.stringify(data)}::jsonb, prev_hash = ${prevHash},
                hash = ${hash}, hmac = ${hmac} where run_id = ${runId} and seq = ${row.seq}`,
        );
        prevHash = hash;
      }
      const result = await verifyAuditChain(database.db, runId, secret);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.position, 5);
      assert.match(!result.ok ? result.reason : "", /hmac mismatch/);
      // A wrong key fails on the very first entry.
      const wrongKey = await verifyAuditChain(database.db, runId, "guessed-secret-guessed-secret-guessed");
      assert.equal(!wrongKey.ok && wrongKey.position, 1);
    });

    it("catches a truncated tail against the published head, and refuses an empty ledger", async () => {
      const runId = await seedChain(5);
      const head = await auditHead(database.db, runId);
      assert.deepEqual(await verifyAuditChain(database.db, runId, secret, { expectedHead: head }), {
        ok: true,
        count: 5,
        head,
      });
      await execute(sql`delete from audit_events where run_id = ${runId} and seq = 5`);
      assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
      const truncated = await verifyAuditChain(database.db, runId, secret, { expectedHead: head });
      assert.equal(!truncated.ok && truncated.position, 5);
      assert.match(!truncated.ok ? truncated.reason : "", /never reaches the expected head/);

      const empty = newRunId();
      await ensureRun(database.db, { id: empty, kind: "manual" });
      const none = await verifyAuditChain(database.db, empty, secret);
      assert.equal(!none.ok && none.position, 1);
      assert.equal(await auditHead(database.db, empty), undefined);
    });

    it("checks a published hash as a checkpoint: later entries may follow it, a hash not in the chain or an altered entry before it fails", async () => {
      const runId = await seedChain(6);
      const rows = await database.db.query.auditEvents.findMany({
        where: (t, { eq }) => eq(t.runId, runId),
        orderBy: (t, { asc }) => [asc(t.seq)],
      });
      const third = rows[2]!.hash;
      // Like the Airlock-Audit trailer: entry 3, followed by three more.
      assert.deepEqual(await verifyAuditChain(database.db, runId, secret, { expectedHead: third }), {
        ok: true,
        count: 6,
        head: rows[5]!.hash,
        checkpoint: { position: 3 },
      });
      const foreign = await verifyAuditChain(database.db, runId, secret, { expectedHead: "f".repeat(64) });
      assert.equal(foreign.ok, false);
      assert.match(!foreign.ok ? foreign.reason : "", /never reaches the expected head f{64}/);
      // Another run's head is not a checkpoint of this one.
      const other = await seedChain(2);
      const otherHead = await auditHead(database.db, other);
      assert.equal(
        (await verifyAuditChain(database.db, runId, secret, { expectedHead: otherHead })).ok,
        false,
      );
      // An entry before the checkpoint is changed: the chain fails there, whatever the checkpoint.
      await execute(
        sql`update audit_events set data = jsonb_set(data, '{model}', '"z"') where run_id = ${runId} and seq = 2`,
      );
      const altered = await verifyAuditChain(database.db, runId, secret, { expectedHead: third });
      assert.equal(!altered.ok && altered.position, 2);
      // Entries up to the checkpoint deleted (and the rest renumbered and re-linked by a forger
      // without the key): the checkpoint hash is gone, and the HMAC gives the forgery away.
      await execute(sql`delete from audit_events where run_id = ${other} and seq = 2`);
      const cut = await verifyAuditChain(database.db, other, secret, { expectedHead: otherHead });
      assert.equal(!cut.ok && cut.position, 2);
    });

    it("keys the ledger apart from run tokens, and verifies a leading run of legacy (raw-secret) entries as such", async () => {
      const runId = await seedChain(4);
      const rows = await database.db.query.auditEvents.findMany({
        where: (t, { eq }) => eq(t.runId, runId),
        orderBy: (t, { asc }) => [asc(t.seq)],
      });
      const resign = async (seq: number, hmac: string) =>
        execute(sql`update audit_events set hmac = ${hmac} where run_id = ${runId} and seq = ${seq}`);
      // Someone holding only the run-token key (a process that checks tokens) signs entry 3: refused.
      const tokenKey = deriveKey(secret, "run-token");
      await resign(3, createHmac("sha256", tokenKey).update(rows[2]!.hash).digest("hex"));
      const byTokenKey = await verifyAuditChain(database.db, runId, secret);
      assert.equal(!byTokenKey.ok && byTokenKey.position, 3);
      assert.match(!byTokenKey.ok ? byTokenKey.reason : "", /hmac mismatch/);
      // Entries 1–2 as a version before the keys were derived apart signed them (raw secret).
      await resign(3, rows[2]!.hmac);
      await resign(1, signLegacyAuditHash(secret, rows[0]!.hash));
      await resign(2, signLegacyAuditHash(secret, rows[1]!.hash));
      assert.deepEqual(await verifyAuditChain(database.db, runId, secret), {
        ok: true,
        count: 4,
        head: rows[3]!.hash,
        legacyEntries: 2,
      });
      // A legacy entry after a current one was not written by any version: refused.
      await resign(4, signLegacyAuditHash(secret, rows[3]!.hash));
      const late = await verifyAuditChain(database.db, runId, secret);
      assert.equal(!late.ok && late.position, 4);
    });

    it("refuses an unknown event type and data that does not fit its type, writing nothing", async () => {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      const refused = (error: Error & { code?: string }) => error.code === "audit_invalid_event";
      await assert.rejects(
        appendAuditEvent(database.db, {
          runId,
          type: "container.exited" as "run.error",
          data: { reason: "x" },
          secret,
        }),
        (error: Error & { code?: string }) =>
          refused(error) && /container\.exited.* is not known/.test(error.message),
      );
      await assert.rejects(
        appendAuditEvent(database.db, {
          runId,
          type: "llm.call",
          data: { ...callData(1), costUsd: 3 } as never,
          secret,
        }),
        (error: Error & { code?: string }) => refused(error) && /costUsd/.test(error.message),
      );
      await assert.rejects(
        appendAuditEvent(database.db, {
          runId,
          type: "run.error",
          data: { reason: "x", sneaked: "in" } as { reason: string },
          secret,
        }),
        refused,
      );
      assert.equal(await auditHead(database.db, runId), undefined);
    });

    it("serializes 50 concurrent appends to one run into seq 1..50 with an intact chain", async () => {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      const started = performance.now();
      // allSettled: every append finishes before the assertions, so a failure cannot leave queries running.
      const settled = await Promise.allSettled(
        Array.from({ length: 50 }, (_, n) =>
          appendAuditEvent(database.db, { runId, type: "llm.call", data: callData(n + 1), secret }),
        ),
      );
      const failures = settled.flatMap((s) => (s.status === "rejected" ? [String(s.reason)] : []));
      assert.deepEqual(failures, []);
      const appended = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
      const ms = performance.now() - started;
      assert.deepEqual(
        appended.map((e) => e.seq).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const result = await verifyAuditChain(database.db, runId, secret);
      assert.equal(result.ok && result.count, 50);
      // Every payload landed exactly once.
      const lines = await collectLines(exportAuditChain(database.db, runId));
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { data: { id: number } }).data.id).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      console.log(`# ${kind.name}: 50 concurrent appends in ${ms.toFixed(0)} ms`);
    });

    it("refuses to append to an unknown run and keeps a non-object out", async () => {
      await assert.rejects(
        appendAuditEvent(database.db, { runId: newRunId(), type: "run.started", data: startedData, secret }),
        (error: Error & { code?: string }) => error.code === "unknown_run",
      );
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      await assert.rejects(
        appendAuditEvent(database.db, {
          runId,
          type: "llm.call",
          data: { ...callData(1), id: 1n as unknown as number },
          secret,
        }),
        (error: Error & { code?: string }) => error.code === "audit_invalid_event",
      );
      // undefined values are dropped before hashing, as jsonb would drop them.
      await appendAuditEvent(database.db, {
        runId,
        type: "run.cancel_requested",
        data: { by: "octocat", extra: undefined } as { by: string },
        secret,
      });
      assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
    });

    it("exports N JSON lines in stable field order that re-verify away from the database", async () => {
      const runId = await seedChain(7);
      const lines = await collectLines(exportAuditChain(database.db, runId));
      assert.equal(lines.length, 7);
      const parsed = lines.map(
        (l) =>
          JSON.parse(l) as {
            runId: string;
            seq: number;
            at: string;
            type: string;
            data: Record<string, unknown>;
            prevHash: string;
            hash: string;
            hmac: string;
          },
      );
      assert.deepEqual(Object.keys(parsed[0]!), [
        "runId",
        "seq",
        "at",
        "type",
        "data",
        "prevHash",
        "hash",
        "hmac",
      ]);
      const keys = Object.keys(parsed[0]!.data);
      assert.deepEqual(keys, [...keys].sort());
      assert.deepEqual(keys, Object.keys(startedData).sort());
      assert.equal(parsed[1]?.at, "2026-11-22T04:00:00.102Z");
      // A line round-trips: parse then stringify gives the same bytes.
      assert.deepEqual(
        parsed.map((p) => JSON.stringify(p)),
        lines,
      );
      const entries = parsed.map((p) => ({ ...p, at: new Date(p.at) }));
      assert.deepEqual(verifyAuditEntries(runId, entries, secret), {
        ok: true,
        count: 7,
        head: parsed[6]?.hash,
      });
      entries[2]!.data = { ...entries[2]!.data, inputTokens: 99 };
      const changed = verifyAuditEntries(runId, entries, secret);
      assert.equal(!changed.ok && changed.position, 3);
      // The run id is hashed: the same entries do not verify as another run's.
      assert.equal(
        verifyAuditEntries(
          "rother",
          parsed.map((p) => ({ ...p, at: new Date(p.at) })),
          secret,
        ).ok,
        false,
      );
    });
  });
}
