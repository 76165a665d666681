import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { appendEgressAuditEvents } from "../../core/audit/append-egress-audit-events.ts";
import { auditEventSchemas } from "../../core/audit/audit-event-schemas.ts";
import { exportAuditChain } from "../../core/audit/export-audit-chain.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import type { Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import type { EgressConnectionRecord } from "../../runner/egress/egress-connection-record.ts";
import { serveEgressProxy } from "../../runner/egress/serve-egress-proxy.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { connectThrough, readToEnd, startSinkServer, type Listening } from "./egress-test-servers.ts";

const secret = "test-egress-audit-secret-0123456789abcdef0123";

for (const kind of testDatabaseKinds()) {
  describe(`egress records chained in a run's audit on ${kind.name}`, { skip: kind.skip }, () => {
    let database: Database;
    let sink: Listening;
    before(async () => {
      database = await kind.open();
      sink = await startSinkServer(5, 7);
    });
    after(async () => {
      await sink?.close();
      await database?.close();
    });

    it("appends what the proxy reported as egress.connection and egress.blocked entries, and the chain verifies", async () => {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      const records: EgressConnectionRecord[] = [];
      const proxy = await serveEgressProxy({
        port: 0,
        runId,
        allow: () => new Set(["granted.test"]),
        resolve: async () => ["127.0.0.1"],
        allowAddressForTests: (address) => address === "127.0.0.1",
        logger: pino({ level: "silent" }),
        onConnection: (r) => {
          records.push(r);
        },
        limits: { connectPorts: [sink.port] },
      });
      try {
        const tunnel = await connectThrough({ port: proxy.port! }, `granted.test:${sink.port}`);
        const answer = readToEnd(tunnel.socket, tunnel.head);
        tunnel.socket.end("12345");
        assert.equal(await answer, "aaaaaaa");
        for (let i = 0; i < 3; i++) {
          const refused = await connectThrough({ port: proxy.port! }, `exfil.test:${sink.port}`);
          assert.equal(refused.status, 403);
          await readToEnd(refused.socket, refused.head);
        }
        await waitUntil("four records", () => records.length === 4);
      } finally {
        await proxy.close();
      }

      const entries = await appendEgressAuditEvents(database.db, {
        runId,
        secret,
        connections: records,
        blocked: proxy.blocked(),
      });
      assert.deepEqual(
        entries.map((e) => e.type),
        [
          "egress.connection",
          "egress.connection",
          "egress.connection",
          "egress.connection",
          "egress.blocked",
        ],
      );
      assert.deepEqual((await verifyAuditChain(database.db, runId, secret)).ok, true);

      const lines: string[] = [];
      for await (const line of exportAuditChain(database.db, runId)) lines.push(line);
      const stored = lines.map((l) => JSON.parse(l) as { type: string; data: unknown });
      const tunnel = auditEventSchemas["egress.connection"].parse(
        stored.find((e) => e.type === "egress.connection")?.data,
      );
      assert.deepEqual(
        [tunnel.domain, tunnel.address, tunnel.bytesOut, tunnel.bytesIn, tunnel.outcome],
        ["granted.test", "127.0.0.1", 5, 7, "closed"],
      );
      const blocked = auditEventSchemas["egress.blocked"].parse(
        stored.find((e) => e.type === "egress.blocked")?.data,
      );
      assert.deepEqual(
        [blocked.domain, blocked.port, blocked.attempts, blocked.reason],
        ["exfil.test", sink.port, 3, "exfil.test is not among this run's network grants"],
      );
    });

    it("refuses data that does not fit, writing nothing", async () => {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual" });
      const bad = {
        kind: "connect" as const,
        domain: "granted.test",
        port: 443,
        address: "127.0.0.1",
        bytesOut: -1,
        bytesIn: 0,
        durationMs: 1,
        outcome: "closed" as const,
        reason: null,
        status: 200,
        startedAt: new Date(),
      };
      await assert.rejects(appendEgressAuditEvents(database.db, { runId, secret, connections: [bad] }));
      const lines: string[] = [];
      for await (const line of exportAuditChain(database.db, runId)) lines.push(line);
      assert.equal(lines.length, 0);
    });
  });
}
