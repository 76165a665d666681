import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { auditEventSchemas } from "../../core/audit/audit-event-schemas.ts";
import { grantPreApprovedCapabilities, listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { setRunState } from "../../core/db/runs.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { postOverSocket } from "../helpers/post-over-socket.ts";
import { denyCapabilityRequest } from "./deny-capability-request.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

interface Answer {
  status: number;
  json: Record<string, unknown> & { error?: { message: string; code: string; param: string | null } };
}

const maxPending = 3;

for (const kind of testDatabaseKinds()) {
  describe(`POST /airlock/v1/capabilities on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;

    before(async () => {
      h = await startProxyHarness(kind, { maxPendingCapabilities: maxPending });
    });
    after(async () => {
      await h?.close();
    });

    async function ask(token: string | undefined, body: unknown, method = "POST"): Promise<Answer> {
      const res = await fetch(`${h.url}/airlock/v1/capabilities`, {
        method,
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(method === "POST" ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Answer["json"] };
    }

    async function auditTypes(runId: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
      return h.database.db
        .select({ type: auditEvents.type, data: auditEvents.data })
        .from(auditEvents)
        .where(eq(auditEvents.runId, runId))
        .orderBy(asc(auditEvents.seq));
    }

    it("records a valid request: 202 pending, a message that ends the turn, a row and an audit entry; nothing goes upstream", async () => {
      const { runId, token } = await h.newRun();
      const answer = await ask(token, { kind: "apt", name: "jq", reason: "parse\nthe test output\u0007" });
      assert.equal(answer.status, 202, JSON.stringify(answer.json));
      assert.equal(answer.json.state, "pending");
      assert.equal(typeof answer.json.id, "number");
      assert.equal(answer.json.merged, false);
      assert.match(
        String(answer.json.message),
        /apt:jq is requested .*Finish your turn.*resumes .* with the decision/,
      );
      const rows = await listCapabilityRequests(h.database.db, runId);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.id, answer.json.id);
      assert.equal(rows[0]?.reason, "parse the test output");
      assert.equal(rows[0]?.state, "pending");
      const audit = await auditTypes(runId);
      assert.deepEqual(
        audit.map((e) => e.type),
        ["capability.requested"],
      );
      assert.deepEqual(auditEventSchemas["capability.requested"].parse(audit[0]!.data), {
        id: answer.json.id,
        kind: "apt",
        name: "jq",
        version: null,
        reason: "parse the test output",
        outcome: "created",
      });
      const verified = await verifyAuditChain(h.database.db, runId, h.tokenSecret);
      assert.equal(verified.ok, true, JSON.stringify(verified));
      // Not an LLM call: no llm_calls row, and the upstream saw nothing.
      assert.deepEqual(await h.rows(runId), []);
      assert.equal(h.upstream.requests.length, 0);
      assert.deepEqual(h.upstream.takeUnexpected(), []);
    });

    it("merges a duplicate (same kind and normalised name) into one request with the newest version and reason", async () => {
      const { runId, token } = await h.newRun();
      const first = await ask(token, {
        kind: "pip",
        name: "Requests_OAuthlib",
        version: "==1.3.0",
        reason: "auth",
      });
      const second = await ask(token, {
        kind: "pip",
        name: "requests-oauthlib",
        version: "1.3.1",
        reason: "auth, newer",
      });
      assert.equal(first.status, 202);
      assert.equal(second.status, 202);
      assert.equal(second.json.id, first.json.id);
      assert.equal(second.json.merged, true);
      assert.match(String(second.json.message), /merged with your earlier request/);
      const rows = await listCapabilityRequests(h.database.db, runId);
      assert.equal(rows.length, 1);
      assert.deepEqual(
        { name: rows[0]?.name, version: rows[0]?.version, reason: rows[0]?.reason },
        { name: "requests-oauthlib", version: "1.3.1", reason: "auth, newer" },
      );
      assert.deepEqual(
        (await auditTypes(runId)).map((e) => e.data.outcome),
        ["created", "merged"],
      );
    });

    it(`refuses the ${maxPending + 1}th pending request with 429, still merges duplicates, and makes room once one is decided`, async () => {
      const { runId, token } = await h.newRun();
      for (let i = 0; i < maxPending; i += 1) {
        const a = await ask(token, { kind: "npm", name: `pkg-${i}`, reason: "r" });
        assert.equal(a.status, 202);
      }
      const over = await ask(token, { kind: "npm", name: "one-too-many", reason: "r" });
      assert.equal(over.status, 429);
      assert.equal(over.json.error?.code, "too_many_pending");
      assert.match(
        over.json.error?.message ?? "",
        /already has 3 pending capability requests \(at most 3\); npm:one-too-many was not recorded/,
      );
      const again = await ask(token, { kind: "npm", name: "pkg-0", version: "1.0.0", reason: "r2" });
      assert.equal(again.status, 202);
      assert.equal(again.json.merged, true);
      const rows = await listCapabilityRequests(h.database.db, runId);
      assert.equal(rows.length, maxPending);
      await denyCapabilityRequest(h, runId, rows[0]!.id, "maintainer", "not needed");
      const after = await ask(token, { kind: "npm", name: "one-too-many", reason: "r" });
      assert.equal(after.status, 202);
    });

    it("holds the bound under parallel requests: exactly the allowed number is recorded", async () => {
      const { runId, token } = await h.newRun();
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          ask(token, { kind: "network", name: `host${i}.example.com`, reason: "r" }),
        ),
      );
      assert.deepEqual(answers.map((a) => a.status).sort(), [202, 202, 202, 429, 429, 429, 429, 429]);
      assert.equal((await listCapabilityRequests(h.database.db, runId)).length, maxPending);
      assert.equal((await verifyAuditChain(h.database.db, runId, h.tokenSecret)).ok, true);
    });

    it("refuses an invalid request with 400, naming the field and why, and records nothing", async () => {
      const { runId, token } = await h.newRun();
      const cases: [unknown, string, RegExp][] = [
        [{ kind: "network", name: "169.254.169.254", reason: "r" }, "name", /IP address/],
        [{ kind: "npm", name: "left-pad", version: "latest", reason: "r" }, "version", /dist-tag/],
        [{ kind: "apt", name: "jq", reason: "   " }, "reason", /say why/],
        [{ kind: "docker", name: "x", reason: "r" }, "kind", /kind must be one of/],
        ["{not json", "body", /not JSON/],
      ];
      for (const [body, field, why] of cases) {
        const a = await ask(token, body);
        assert.equal(a.status, 400, JSON.stringify(body));
        assert.equal(a.json.error?.code, "invalid_capability");
        assert.equal(a.json.error?.param, field);
        assert.match(a.json.error?.message ?? "", why);
      }
      assert.deepEqual(await listCapabilityRequests(h.database.db, runId), []);
      assert.deepEqual(await auditTypes(runId), []);
    });

    it("answers a granted (pre-approved) or denied request at once with 200 and its state", async () => {
      const { runId, token } = await h.newRun();
      await grantPreApprovedCapabilities(h.database.db, {
        runId,
        grants: [{ kind: "apt", name: "jq" }],
        by: "pre-approved",
        reason: "pre-approved in .github/airlock/capabilities.yml",
        secret: h.tokenSecret,
      });
      const granted = await ask(token, { kind: "apt", name: "jq", reason: "need it" });
      assert.equal(granted.status, 200);
      assert.equal(granted.json.state, "granted");
      assert.equal(granted.json.decided_by, "pre-approved");
      assert.match(String(granted.json.message), /already granted/);

      const asked = await ask(token, { kind: "llm-tool", name: "web_search", reason: "look up the API" });
      await denyCapabilityRequest(h, runId, asked.json.id as number, "octocat", "use the docs in the repo");
      const denied = await ask(token, { kind: "llm-tool", name: "web_search", reason: "please" });
      assert.equal(denied.status, 200);
      assert.equal(denied.json.state, "denied");
      assert.match(String(denied.json.message), /denied by octocat: use the docs in the repo/);
      const rows = await listCapabilityRequests(h.database.db, runId);
      assert.deepEqual(
        rows.map((r) => [r.kind, r.name, r.state, r.reason]),
        [
          ["apt", "jq", "granted", "pre-approved in .github/airlock/capabilities.yml"],
          ["llm-tool", "web_search", "denied", "look up the API"],
        ],
      );
      const types = (await auditTypes(runId)).map((e) => e.type);
      assert.deepEqual(types, ["capability.decided", "capability.requested", "capability.decided"]);
    });

    it("lists the run's requests and states with GET, and only this run's", async () => {
      const { token } = await h.newRun();
      const other = await h.newRun();
      await ask(other.token, { kind: "apt", name: "curl", reason: "r" });
      await ask(token, { kind: "apt", name: "jq", reason: "r1" });
      await ask(token, { kind: "npm", name: "is-number", version: "^7", reason: "r2" });
      const listed = await ask(token, undefined, "GET");
      assert.equal(listed.status, 200);
      const requests = listed.json.requests as Record<string, unknown>[];
      assert.deepEqual(
        requests.map((r) => [r.kind, r.name, r.version, r.state, r.reason]),
        [
          ["apt", "jq", null, "pending", "r1"],
          ["npm", "is-number", "^7", "pending", "r2"],
        ],
      );
    });

    it("authenticates like an LLM call: no token, a forged token, a finished run", async () => {
      const { runId, token } = await h.newRun();
      const none = await ask(undefined, { kind: "apt", name: "jq", reason: "r" });
      assert.equal(none.status, 401);
      assert.match(none.json.error?.message ?? "", /missing run token/);
      const forged = await ask(`${token.slice(0, -2)}xx`, { kind: "apt", name: "jq", reason: "r" });
      assert.equal(forged.status, 401);
      const listForged = await ask(`${token.slice(0, -2)}xx`, undefined, "GET");
      assert.equal(listForged.status, 401);
      await setRunState(h.database.db, runId, "succeeded");
      await h.proxy.handler.flush();
      const finished = await waitForStatus(() => ask(token, { kind: "apt", name: "jq", reason: "r" }), 403);
      assert.match(finished.json.error?.message ?? "", /has finished/);
      assert.deepEqual(await listCapabilityRequests(h.database.db, runId), []);
      const put = await ask(token, { kind: "apt", name: "jq", reason: "r" }, "PUT");
      assert.equal(put.status, 405);
    });

    it("refuses a body past 16 KiB with 413", async () => {
      const { token } = await h.newRun();
      const a = await ask(token, { kind: "apt", name: "jq", reason: "x".repeat(17 * 1024) });
      assert.equal(a.status, 413);
      assert.equal(a.json.error?.code, "request_too_large");
    });

    it("is served on the run's socket for that run's token only", async () => {
      const { runId, token } = await h.newRun();
      const other = await h.newRun();
      const dir = await mkdtemp(join(tmpdir(), "airlock-cap-sock-"));
      const socketPath = join(dir, "proxy.sock");
      const served = await h.serveOnSocket(socketPath, runId);
      try {
        const body = JSON.stringify({ kind: "network", name: "api.github.com", reason: "fetch releases" });
        const mine = await postOverSocket(socketPath, "/airlock/v1/capabilities", token, body);
        assert.equal(mine.status, 202, mine.body);
        const theirs = await postOverSocket(socketPath, "/airlock/v1/capabilities", other.token, body);
        assert.equal(theirs.status, 401);
        assert.match(theirs.body, /names another run/);
        const rows = await listCapabilityRequests(h.database.db, runId);
        assert.deepEqual(
          rows.map((r) => r.name),
          ["api.github.com"],
        );
        assert.deepEqual(await listCapabilityRequests(h.database.db, other.runId), []);
      } finally {
        await served.close();
        await rm(dir, { recursive: true, force: true });
      }
      assert.equal(h.upstream.requests.length, 0);
    });
  });
}

/** The proxy trusts a run's state for a short while (runCacheTtlMs); wait until it sees the change. */
async function waitForStatus(call: () => Promise<Answer>, status: number): Promise<Answer> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await call();
    if (answer.status === status || Date.now() > deadline) return answer;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
