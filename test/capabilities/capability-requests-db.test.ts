import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import {
  decideCapabilityRequest,
  grantPreApprovedCapabilities,
  listCapabilityRequests,
  recordCapabilityRequest,
} from "../../core/db/capability-requests.ts";
import type { Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";

const secret = "test-token-secret-0123456789abcdef0123456789";

// The migration and the queries on both databases Airlock runs on (PGlite is `airlock run`'s).
for (const kind of testDatabaseKinds({ pglite: true })) {
  describe(`capability_requests on ${kind.name}`, { skip: kind.skip }, () => {
    let database: Database;
    before(async () => {
      database = await kind.open();
    });
    after(async () => {
      await database?.close();
    });

    async function newRun(): Promise<string> {
      const id = newRunId();
      await ensureRun(database.db, { id, kind: "manual", state: "running" });
      return id;
    }

    async function auditTypes(runId: string): Promise<string[]> {
      const rows = await database.db
        .select({ type: auditEvents.type })
        .from(auditEvents)
        .where(eq(auditEvents.runId, runId))
        .orderBy(asc(auditEvents.seq));
      return rows.map((r) => r.type);
    }

    it("creates, merges, answers decided requests unchanged, and bounds the pending ones", async () => {
      const runId = await newRun();
      const ask = (name: string, reason = "r") =>
        recordCapabilityRequest(database.db, {
          runId,
          request: { kind: "apt", name, reason },
          maxPending: 2,
          secret,
        });
      const first = await ask("jq");
      assert.equal(first.kind, "created");
      const merged = await ask("jq", "newer reason");
      assert.equal(merged.kind, "merged");
      assert.equal(merged.kind === "merged" && merged.request.reason, "newer reason");
      assert.equal((await ask("curl")).kind, "created");
      const over = await ask("git");
      assert.deepEqual(over, { kind: "too_many", pending: 2, max: 2 });
      const id = first.kind === "created" ? first.request.id : 0;
      const decided = await decideCapabilityRequest(database.db, {
        runId,
        id,
        state: "granted",
        by: "alice",
        secret,
      });
      assert.equal(decided.changed, true);
      const again = await ask("jq", "asked once more");
      assert.equal(again.kind, "decided");
      assert.equal(
        again.kind === "decided" && again.request.reason,
        "newer reason",
        "a decided request is not changed",
      );
      assert.equal((await ask("git")).kind, "created", "deciding one made room");
      assert.deepEqual(await auditTypes(runId), [
        "capability.requested",
        "capability.requested",
        "capability.requested",
        "capability.decided",
        "capability.requested",
      ]);
      assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
    });

    it("decides once: a redelivered decision changes nothing and writes no second audit entry", async () => {
      const runId = await newRun();
      const created = await recordCapabilityRequest(database.db, {
        runId,
        request: { kind: "network", name: "api.github.com", reason: "r" },
        secret,
      });
      assert.equal(created.kind, "created");
      const id = created.kind === "created" ? created.request.id : 0;
      const at = new Date("2026-11-30T12:00:00.000Z");
      const first = await decideCapabilityRequest(database.db, {
        runId,
        id,
        state: "denied",
        by: "bob",
        reason: "no",
        secret,
        at,
      });
      const second = await decideCapabilityRequest(database.db, {
        runId,
        id,
        state: "granted",
        by: "mallory",
        secret,
      });
      assert.equal(first.changed, true);
      assert.equal(second.changed, false);
      assert.deepEqual(
        [second.request?.state, second.request?.decidedBy, second.request?.decidedAt?.toISOString()],
        ["denied", "bob", at.toISOString()],
      );
      const otherRun = await newRun();
      const foreign = await decideCapabilityRequest(database.db, {
        runId: otherRun,
        id,
        state: "granted",
        by: "x",
        secret,
      });
      assert.deepEqual(
        foreign,
        { changed: false, request: undefined },
        "a request is decided only within its run",
      );
      assert.deepEqual(await auditTypes(runId), ["capability.requested", "capability.decided"]);
    });

    it("records pre-approved grants as granted, leaving a request the run already has as it is", async () => {
      const runId = await newRun();
      await recordCapabilityRequest(database.db, {
        runId,
        request: { kind: "npm", name: "is-number", version: "^7", reason: "r" },
        secret,
      });
      const granted = await grantPreApprovedCapabilities(database.db, {
        runId,
        grants: [
          { kind: "npm", name: "is-number", version: "7.0.0" },
          { kind: "apt", name: "jq", version: "1.6-2.1+deb12u2" },
        ],
        by: "pre-approved",
        reason: "pre-approved on the default branch",
        secret,
      });
      assert.deepEqual(
        granted.map((r) => [r.kind, r.name, r.state]),
        [["apt", "jq", "granted"]],
      );
      assert.deepEqual(
        (await listCapabilityRequests(database.db, runId)).map((r) => [r.kind, r.name, r.state, r.version]),
        [
          ["npm", "is-number", "pending", "^7"],
          ["apt", "jq", "granted", "1.6-2.1+deb12u2"],
        ],
      );
      assert.deepEqual(await auditTypes(runId), ["capability.requested", "capability.decided"]);
      assert.equal((await verifyAuditChain(database.db, runId, secret)).ok, true);
    });

    it("refuses a request for a run the database does not know, with a typed error", async () => {
      await assert.rejects(
        recordCapabilityRequest(database.db, {
          runId: "rnosuchrun",
          request: { kind: "apt", name: "jq", reason: "r" },
          secret,
        }),
        (error: unknown) => error instanceof AirlockError && error.code === "unknown_run",
      );
    });
  });
}
