// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditEventData } from "../../core/audit/audit-event-schemas.ts";
import type { StoredAuditEntry } from "../../core/audit/parse-stored-audit-data.ts";
import { renderEgressSummary } from "../../core/summary/render-egress-summary.ts";
import { summarizeEgress } from "../../core/summary/summarize-egress.ts";

let seq = 0;
function entry(type: string, data: unknown): StoredAuditEntry {
  seq += 1;
  return { runId: "r1", seq, type, data };
}

function connection(domain: string, more: Partial<AuditEventData<"egress.connection">> = {}) {
  return entry("egress.connection", {
    kind: "connect",
    domain,
    port: 443,
    address: "203.0.114.1",
    bytesOut: 100,
    bytesIn: 1000,
    durationMs: 5,
    outcome: "closed",
    reason: null,
    status: 200,
    startedAt: "2026-01-01T00:00:00.000Z",
    ...more,
  } satisfies AuditEventData<"egress.connection">);
}

function blocked(
  domain: string,
  attempts: number,
  reason = `${domain} is not among this run's network grants`,
) {
  return entry("egress.blocked", {
    domain,
    port: 443,
    reason,
    attempts,
    firstAt: "2026-01-01T00:00:00.000Z",
    lastAt: "2026-01-01T00:00:01.000Z",
  } satisfies AuditEventData<"egress.blocked">);
}

describe("the egress part of a run's summary", () => {
  it("sums granted use per domain (refusals aside) and blocked attempts per domain over segments", () => {
    const audit = [
      entry("run.claimed", { attempt: 0, runner: "r" }),
      connection("api.example.com"),
      connection("api.example.com", { kind: "http", port: 80, bytesOut: 50, bytesIn: 70 }),
      connection("cdn.example.net", { outcome: "upstream_error", bytesOut: 0, bytesIn: 0, status: 502 }),
      connection("evil.example.org", {
        outcome: "refused",
        status: 403,
        address: null,
        bytesOut: 0,
        bytesIn: 0,
      }),
      blocked("evil.example.org", 3),
      // The same domain in a later segment (the run paused and resumed), and another reason.
      blocked("evil.example.org", 2),
      blocked("evil.example.org", 1, "port 22 is not open for CONNECT (open: 443)"),
      blocked("other.example.org", 1),
    ];
    const summary = summarizeEgress(audit);
    assert.deepEqual(summary, {
      used: [
        { domain: "api.example.com", connections: 2, bytesOut: 150, bytesIn: 1070 },
        { domain: "cdn.example.net", connections: 1, bytesOut: 0, bytesIn: 0 },
      ],
      blocked: [
        {
          domain: "evil.example.org",
          attempts: 6,
          reasons: [
            "evil.example.org is not among this run's network grants",
            "port 22 is not open for CONNECT (open: 443)",
          ],
        },
        {
          domain: "other.example.org",
          attempts: 1,
          reasons: ["other.example.org is not among this run's network grants"],
        },
      ],
    });
    const { row, section } = renderEgressSummary(summary);
    assert.equal(
      row,
      "2 granted domains used (3 connections, 150 B out / 1,070 B in); 2 domains blocked (7 attempts)",
    );
    assert.deepEqual(section, [
      "### Egress",
      "",
      "Granted domains used (2):",
      "",
      "- `api.example.com`: 2 connections, 150 B out, 1,070 B in",
      "- `cdn.example.net`: 1 connection, 0 B out, 0 B in",
      "",
      "Blocked: each domain the agent tried and was refused (2):",
      "",
      "- `evil.example.org`: 6 attempts (evil.example.org is not among this run's network grants; port 22 is not open for CONNECT (open: 443))",
      "- `other.example.org`: 1 attempt (other.example.org is not among this run's network grants)",
      "",
    ]);
  });

  it("says so when the agent tried no connection, and adds no section", () => {
    const rendered = renderEgressSummary(
      summarizeEgress([entry("run.claimed", { attempt: 0, runner: "r" })]),
    );
    assert.deepEqual(rendered, { row: "no connection attempted", section: [] });
  });

  it("shows names and reasons from the sandbox as text, never as markup or mentions", () => {
    const hostile = "x`](https://phish.example)<img src=x>@octocat";
    const { section } = renderEgressSummary(
      summarizeEgress([blocked(hostile, 1, `${hostile} is not among this run's network grants`)]),
    );
    const line = section.find((l) => l.startsWith("- "));
    assert.ok(line);
    // A code span fenced longer than any backtick run inside it: nothing in it is markup.
    assert.ok(line.startsWith("- `` x`](https://phish.example)<img src=x>@octocat ``: 1 attempt ("), line);
    const reason = line.slice(line.indexOf("attempt (") + "attempt (".length);
    // Backticks and brackets only escaped, no raw HTML, the mention broken.
    assert.doesNotMatch(reason, /(?<!\\)[`[\]]|<img|@octocat/);
    assert.match(reason, /&lt;img src=x&gt;/);
  });

  it("lists at most 50 domains of each kind and counts the rest", () => {
    const audit = Array.from({ length: 60 }, (_, i) =>
      blocked(`d${String(i).padStart(2, "0")}.example.org`, 1),
    );
    const { row, section } = renderEgressSummary(summarizeEgress(audit));
    assert.equal(row, "0 granted domains used; 60 domains blocked (60 attempts)");
    assert.equal(section.filter((l) => /^- `d\d\d/.test(l)).length, 50);
    assert.ok(section.includes("- and 10 more, not listed"), section.join("\n"));
  });

  it("refuses an entry that does not have the shape of its type", () => {
    assert.throws(
      () => summarizeEgress([entry("egress.blocked", { domain: "x.example.org", attempts: "many" })]),
      (error: Error & { code?: string }) =>
        error.code === "audit_event_malformed" &&
        /audit entry \d+ \(egress\.blocked\) of run r1/.test(error.message),
    );
  });
});
