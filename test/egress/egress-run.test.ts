import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { auditEventSchemas } from "../../core/audit/audit-event-schemas.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import {
  decideCapabilityRequest,
  grantPreApprovedCapabilities,
  listCapabilityRequests,
} from "../../core/db/capability-requests.ts";
import type { Database } from "../../core/db/open-database.ts";
import { insertRun } from "../../core/db/runs.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { ensureBaseImage } from "../../runner/images/ensure-base-image.ts";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";
import type { RunDeps } from "../../runner/run/run-deps.ts";
import type { RunResult } from "../../runner/run/run-result.ts";
import { runRecordedRun } from "../../runner/run/run-recorded-run.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";
import { createSourceRepo } from "../helpers/git-repo.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { makeCertificate, startHttpServer, startHttpsServer, type Listening } from "./egress-test-servers.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const tokenSecret = "test-token-secret-egress-run-0123456789abcdef";
const ceiling = { memoryMb: 1024, cpus: 1, pids: 256, timeoutS: 180 };

/**
 * Made-up names under one public-looking domain (the capability checks refuse .test and
 * .example): the test's resolver answers for them, so none is ever looked up for real.
 */
const granted = "granted.airlock-egress.dev";
const later = "later.airlock-egress.dev";
const internal = "internal.airlock-egress.dev";
const other = "other.airlock-egress.dev";
const internalAddress = "10.9.8.7";

/**
 * An "agent" that is the probe itself (test/fixtures/egress-probe/probe.mjs) on the base
 * image: the run is a real one (workspace, sandbox, bridge, both proxies, ledger, relay,
 * summary), only without a model. NODE_EXTRA_CA_CERTS makes Node trust the test's own
 * certificate, from the workspace.
 */
const probeAgent: AgentDefinition = {
  id: "egress-probe",
  title: "egress probe",
  image: { repository: "airlock/base", contextDir: "base", dockerfile: "Dockerfile" },
  command: ["env", "NODE_EXTRA_CA_CERTS=/workspace/ca.pem", "node", "/workspace/probe.mjs"],
  api: "openai",
  defaultLimits: { memoryMb: 512, cpus: 1, pids: 128, timeoutS: 180 },
  defaultModel: "gpt-4o-mini",
};

type Step = { name: string; do: string } & Record<string, unknown>;
type StepResult = { step: string; status?: number; body?: string; error?: string } & Record<string, unknown>;

/**
 * Issue 10 §7: every sandboxed run gets its egress proxy, reached through the base image's
 * second bridge port with HTTPS_PROXY/HTTP_PROXY set. Real Docker, Postgres, sandbox and
 * proxy; the upstreams are an HTTPS and a plain HTTP server on the host's loopback, which
 * the test's resolver (the test-only hook) names. The hook opens 127.0.0.1 only, so the
 * granted name that resolves to 10.9.8.7 is still refused.
 */
describe("network grants in a real run (egress proxy wired into the sandbox)", () => {
  let dir: string;
  let database: Database;
  let cert: ReturnType<typeof makeCertificate>;
  let https: Listening;
  let plain: Awaited<ReturnType<typeof startHttpServer>>;
  let image: { ref: string; id: string };
  let probe: string;
  const resolved: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-egress-run-"));
    database = await testDatabaseKinds()[0]!.open();
    cert = makeCertificate([granted, later, internal]);
    https = await startHttpsServer(cert, { close: true });
    plain = await startHttpServer();
    image = { ref: baseImageRef(), id: (await ensureBaseImage(runtime)).id };
    probe = await readFile(new URL("../fixtures/egress-probe/probe.mjs", import.meta.url), "utf8");
  });

  after(async () => {
    await https?.close();
    await plain?.close();
    cert?.dispose();
    await database?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function deps(stdout: ReturnType<typeof createTextSink>): RunDeps {
    return {
      db: database.db,
      runtime,
      logger,
      tokenSecret,
      // No model is called: the probe is the whole agent.
      upstreams: { openai: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "unused" } },
      dataDir: join(dir, "data"),
      ceiling,
      runnerId: `test-egress-run-${process.pid}`,
      ensureImage: () => Promise.resolve(image),
      agentStdout: stdout,
      egressLimits: { connectPorts: [https.port], httpPorts: [plain.port] },
      egressForTests: {
        resolve: (host) => {
          resolved.push(host);
          if (host === granted || host === later) return Promise.resolve(["127.0.0.1"]);
          if (host === internal) return Promise.resolve([internalAddress]);
          return Promise.reject(new Error(`the test resolves no other name (asked: ${host})`));
        },
        allowAddress: (address) => address === "127.0.0.1",
      },
    };
  }

  /** Record a local run (as recordAndRunLocalRun does) with `grants`, then run it. */
  async function run(
    name: string,
    steps: Step[],
    grants: string[],
    whileRunning?: (runId: string) => Promise<void>,
  ): Promise<{ result: RunResult; out: Map<string, StepResult> }> {
    const runId = newRunId();
    const repo = await createSourceRepo(join(dir, name), {
      "probe.mjs": probe,
      "probe-steps.json": JSON.stringify(steps),
      "ca.pem": cert.cert,
    });
    await insertRun(database.db, {
      id: runId,
      kind: "local",
      state: "queued",
      agent: probeAgent.id,
      model: probeAgent.defaultModel,
      repo,
    });
    await appendAuditEvent(database.db, {
      runId,
      type: "run.started",
      secret: tokenSecret,
      data: {
        kind: "local",
        agent: probeAgent.id,
        repo,
        model: probeAgent.defaultModel,
        budgetUsd: null,
        budgetTokens: null,
        timeoutS: 120,
        runner: "test",
      },
    });
    await grantPreApprovedCapabilities(database.db, {
      runId,
      grants: grants.map((g) => ({ kind: "network" as const, name: g })),
      by: "maintainer-before",
      reason: "pre-approved by the test",
      secret: tokenSecret,
    });
    const stdout = createTextSink();
    const running = runRecordedRun(deps(stdout), {
      runId,
      attempt: 0,
      agent: probeAgent,
      model: probeAgent.defaultModel,
      prompt: "Probe the egress proxy.",
      timeoutS: 120,
      source: { remote: repo },
      branch: `airlock/${runId}`,
    });
    const [result] = await Promise.all([running, whileRunning?.(runId)]);
    const out = new Map<string, StepResult>();
    for (const line of stdout.text().split("\n")) {
      if (line.startsWith("{")) {
        const parsed = JSON.parse(line) as StepResult;
        out.set(parsed.step, parsed);
      }
    }
    return { result, out };
  }

  async function ledgerOf(runId: string) {
    const entries = await database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.runId, runId))
      .orderBy(asc(auditEvents.seq));
    return {
      types: entries.map((e) => e.type),
      connections: entries
        .filter((e) => e.type === "egress.connection")
        .map((e) => auditEventSchemas["egress.connection"].parse(e.data)),
      blocked: entries
        .filter((e) => e.type === "egress.blocked")
        .map((e) => auditEventSchemas["egress.blocked"].parse(e.data)),
    };
  }

  it("a granted name is reachable (CONNECT and plain HTTP), others are refused saying why and how to ask, a grant decided mid-run applies to the next connection, and all of it is in the ledger and the summary", async () => {
    const resolvedBefore = resolved.length;
    const acceptedBefore = https.accepted();
    const steps: Step[] = [
      { name: "env", do: "env" },
      { name: "granted-tls", do: "fetch", url: `https://${granted}:${https.port}/hello` },
      { name: "granted-plain", do: "get", url: `http://${granted}:${plain.port}/plain` },
      { name: "other-fetch", do: "fetch", url: `https://${other}:${https.port}/` },
      { name: "other-connect", do: "connect", authority: `${other}:${https.port}` },
      { name: "other-plain", do: "get", url: `http://${other}:${plain.port}/x` },
      { name: "internal-connect", do: "connect", authority: `${internal}:${https.port}` },
      { name: "later-before", do: "connect", authority: `${later}:${https.port}` },
      { name: "later-ask", do: "request", spec: `network:${later}`, reason: "the probe needs it" },
      { name: "later-open", do: "connectUntilOpen", authority: `${later}:${https.port}`, timeoutMs: 60_000 },
      { name: "later-tls", do: "fetch", url: `https://${later}:${https.port}/later` },
    ];
    const { result, out } = await run("granted", steps, [granted, internal], async (runId) => {
      // A maintainer approves the agent's request while the run goes on.
      const pending = await waitUntil(
        `a pending request for ${later}`,
        async () =>
          (await listCapabilityRequests(database.db, runId)).find(
            (r) => r.name === later && r.state === "pending",
          ),
        { timeoutMs: 90_000, intervalMs: 100 },
      );
      await decideCapabilityRequest(database.db, {
        runId,
        id: pending.id,
        state: "granted",
        by: "maintainer-mid-run",
        secret: tokenSecret,
      });
    });
    assert.equal(result.outcome, "succeeded", `${result.reason}\n${result.summaryMarkdown}`);

    // Inside: the entrypoint pointed every proxy variable at the bridge's second port.
    const proxyUrl = "http://127.0.0.1:4001";
    assert.deepEqual(out.get("env"), {
      step: "env",
      HTTPS_PROXY: proxyUrl,
      HTTP_PROXY: proxyUrl,
      https_proxy: proxyUrl,
      http_proxy: proxyUrl,
      NO_PROXY: "127.0.0.1,localhost",
      NODE_USE_ENV_PROXY: "1",
    });
    assert.deepEqual(out.get("granted-tls"), {
      step: "granted-tls",
      status: 200,
      body: "hello over tls /hello",
    });
    assert.deepEqual(out.get("granted-plain"), {
      step: "granted-plain",
      status: 200,
      body: "plain hello GET /plain",
    });

    // Refused, with the reason and the command that asks for the domain.
    assert.ok(out.get("other-fetch")?.error, JSON.stringify(out.get("other-fetch")));
    for (const step of ["other-connect", "other-plain"]) {
      const answer = out.get(step);
      assert.equal(answer?.status, 403, JSON.stringify(answer));
      assert.match(answer?.body ?? "", new RegExp(`${other} is not among this run's network grants`));
      assert.match(
        answer?.body ?? "",
        new RegExp(`airlock-request network:${other} "<why the task needs it>"`),
      );
    }
    const internalAnswer = out.get("internal-connect");
    assert.equal(internalAnswer?.status, 403, JSON.stringify(internalAnswer));
    assert.match(
      internalAnswer?.body ?? "",
      new RegExp(`${internal} resolves to ${internalAddress}, which is a private network \\(RFC 1918\\)`),
    );
    assert.equal(out.get("later-before")?.status, 403);
    assert.equal(out.get("later-ask")?.code, 0, JSON.stringify(out.get("later-ask")));
    assert.equal(out.get("later-open")?.status, 200, JSON.stringify(out.get("later-open")));
    assert.deepEqual(out.get("later-tls"), { step: "later-tls", status: 200, body: "hello over tls /later" });

    // Refused names are never resolved (no DNS leak); granted ones are, on the host.
    const asked = new Set(resolved.slice(resolvedBefore));
    assert.deepEqual([...asked].sort(), [granted, internal, later].sort());
    // The private address was never connected to: only the granted tunnels reached the server.
    assert.equal(https.accepted() - acceptedBefore, 3);

    // The ledger: every connection and each distinct refusal, chained.
    const ledger = await ledgerOf(result.runId);
    const verification = await verifyAuditChain(database.db, result.runId, tokenSecret);
    assert.equal(verification.ok, true, JSON.stringify(verification));
    const tunnel = ledger.connections.find((c) => c.domain === granted && c.kind === "connect");
    assert.deepEqual(
      tunnel && {
        outcome: tunnel.outcome,
        status: tunnel.status,
        address: tunnel.address,
        port: tunnel.port,
      },
      { outcome: "closed", status: 200, address: "127.0.0.1", port: https.port },
    );
    assert.ok(tunnel!.bytesOut > 200 && tunnel!.bytesIn > 200, JSON.stringify(tunnel));
    const forwarded = ledger.connections.find((c) => c.domain === granted && c.kind === "http");
    assert.equal(forwarded?.outcome, "closed");
    assert.equal(forwarded?.status, 200);
    const refusedInternal = ledger.connections.find((c) => c.domain === internal);
    assert.deepEqual(
      refusedInternal && { outcome: refusedInternal.outcome, address: refusedInternal.address },
      { outcome: "refused", address: internalAddress },
    );
    const laterRefusals = ledger.connections.filter(
      (c) => c.domain === later && c.outcome === "refused",
    ).length;
    assert.ok(laterRefusals >= 1);
    assert.deepEqual(
      ledger.blocked.map((b) => `${b.domain}:${b.port} x${b.attempts}`).sort(),
      [
        `${internal}:${https.port} x1`,
        `${later}:${https.port} x${laterRefusals}`,
        // fetch and the hand-made CONNECT on the TLS port, plain HTTP on the other.
        `${other}:${https.port} x2`,
        `${other}:${plain.port} x1`,
      ].sort(),
    );
    // Connection entries come before the segment's blocked entries, all before the sandbox's exit.
    const lastConnection = ledger.types.lastIndexOf("egress.connection");
    assert.ok(lastConnection < ledger.types.indexOf("egress.blocked"));
    assert.ok(ledger.types.lastIndexOf("egress.blocked") < ledger.types.indexOf("sandbox.exit"));

    // The summary (the PR body): granted domains used with bytes, each blocked domain with its count.
    const sum = (domain: string, key: "bytesOut" | "bytesIn") =>
      ledger.connections
        .filter((c) => c.domain === domain && c.outcome !== "refused")
        .reduce((n, c) => n + c[key], 0)
        .toLocaleString("en-US");
    const summary = result.summaryMarkdown;
    assert.match(
      summary,
      /^\| Egress \| 2 granted domains used \(4 connections, [\d,]+ B out \/ [\d,]+ B in\); 3 domains blocked \(\d+ attempts\) \|$/m,
    );
    assert.ok(
      summary.includes(
        `- \`${granted}\`: 2 connections, ${sum(granted, "bytesOut")} B out, ${sum(granted, "bytesIn")} B in`,
      ),
      summary,
    );
    assert.ok(
      summary.includes(
        `- \`${later}\`: 2 connections, ${sum(later, "bytesOut")} B out, ${sum(later, "bytesIn")} B in`,
      ),
      summary,
    );
    assert.ok(
      summary.includes(`- \`${other}\`: 3 attempts (${other} is not among this run's network grants)`),
      summary,
    );
    assert.ok(
      summary.includes(`- \`${internal}\`: 1 attempt (${internal} resolves to ${internalAddress}, which is`),
      summary,
    );
  });

  it("a run with no grant still gets the proxy: every attempt is refused, recorded and listed as blocked", async () => {
    const acceptedBefore = https.accepted();
    const steps: Step[] = [
      { name: "env", do: "env" },
      { name: "fetch", do: "fetch", url: `https://${granted}:${https.port}/hello` },
      { name: "connect", do: "connect", authority: `${granted}:${https.port}` },
    ];
    const { result, out } = await run("nogrant", steps, []);
    assert.equal(result.outcome, "succeeded", `${result.reason}\n${result.summaryMarkdown}`);
    assert.equal(out.get("env")?.HTTPS_PROXY, "http://127.0.0.1:4001");
    assert.ok(out.get("fetch")?.error, JSON.stringify(out.get("fetch")));
    assert.equal(out.get("connect")?.status, 403);
    assert.match(out.get("connect")?.body ?? "", new RegExp(`airlock-request network:${granted} `));
    assert.equal(https.accepted(), acceptedBefore);

    const ledger = await ledgerOf(result.runId);
    assert.deepEqual(
      ledger.connections.map((c) => `${c.domain} ${c.outcome} ${c.status}`),
      [`${granted} refused 403`, `${granted} refused 403`],
    );
    assert.deepEqual(
      ledger.blocked.map((b) => [b.domain, b.attempts, b.reason]),
      [[granted, 2, `${granted} is not among this run's network grants`]],
    );
    assert.match(
      result.summaryMarkdown,
      /^\| Egress \| 0 granted domains used; 1 domain blocked \(2 attempts\) \|$/m,
    );
    assert.ok(result.summaryMarkdown.includes(`Granted domains used (0):\n\nNone.`), result.summaryMarkdown);
  });
});
