import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { count, eq } from "drizzle-orm";
import { z } from "zod";
import { recordCapabilityRequest } from "../../core/db/capability-requests.ts";
import { openDatabase, type Database } from "../../core/db/open-database.ts";
import { migrateDatabase } from "../../core/db/migrate-database.ts";
import { checkRunEventData } from "../../core/db/run-event-schemas.ts";
import { countClaimableRuns, insertRun, listRunEvents } from "../../core/db/runs.ts";
import { runs } from "../../core/db/schema.ts";
import { startAirlockProcess, type AirlockProcess } from "../e2e/start-airlock-process.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch-database.ts";

/**
 * Issue 13 §3: every metric a panel of deploy/grafana/airlock.json queries is served on
 * /metrics by a real `airlock up` (app and runner in one process), with the type the
 * query needs: `histogram_quantile` over `_bucket` needs a histogram, `rate`/`increase`
 * a counter, anything else a gauge. The database gauges are checked against the database.
 */

const dashboardFile = new URL("../../deploy/grafana/airlock.json", import.meta.url);
const tokenSecret = "dashboard-metrics-secret-0123456789abcdef0123";

const dashboardSchema = z.object({
  panels: z.array(
    z.object({
      title: z.string(),
      targets: z.array(z.object({ expr: z.string().min(1) })).min(1),
    }),
  ),
});

type MetricType = "counter" | "gauge" | "histogram";

/** Every airlock_* metric an expression reads, with the type its use there requires. */
function findQueriedMetrics(expr: string): Map<string, MetricType> {
  const found = new Map<string, MetricType>();
  for (const match of expr.matchAll(/\bairlock_[a-z0-9_]+\b/g)) {
    const name = match[0];
    const histogram = /_(bucket|sum|count)$/.exec(name);
    if (histogram) {
      found.set(name.slice(0, -histogram[0].length), "histogram");
      continue;
    }
    // Directly inside rate(...) / increase(...): only a counter means anything there.
    const before = expr.slice(0, match.index);
    const counter = /\b(rate|irate|increase)\(\s*$/.test(before);
    found.set(name, counter ? "counter" : "gauge");
  }
  return found;
}

/** `# TYPE name type` lines of a Prometheus text exposition. */
function readExposedTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""] as const));
}

/** The value of one sample line, e.g. `airlock_runs{state="queued"}`; undefined when absent. */
function readSample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the Grafana dashboard against `airlock up`'s /metrics", () => {
  const dashboard = dashboardSchema.parse(JSON.parse(readFileSync(dashboardFile, "utf8")));
  let up: AirlockProcess;
  let database: Database;
  let scratch: ScratchDatabase | undefined;
  let dataDir: string;
  let metricsText: string;
  const takenOver = "rdashtakeover";
  const queuedLater = "rdashqueued";

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-dashboard-"));
    const pgUrl = process.env.TEST_DATABASE_URL;
    if (pgUrl) {
      scratch = await createScratchDatabase(pgUrl);
      database = scratch.database;
    } else {
      database = await openDatabase({ dataDir });
      await migrateDatabase(database);
    }
    const db = database.db;
    // A run to count by state and a capability request to count by decision (manual runs are never claimed).
    await insertRun(db, { id: "rdashmanual", kind: "manual", state: "queued" });
    await recordCapabilityRequest(db, {
      runId: "rdashmanual",
      request: { kind: "apt", name: "jq", reason: "parses the API's answers" },
      secret: tokenSecret,
    });
    // A GitHub run whose runner died mid-run: its lease lapsed, so the runner takes it over.
    await insertRun(db, {
      id: takenOver,
      kind: "github",
      state: "running",
      attempt: 1,
      repo: "octo-org/dash",
      issueNumber: 1,
      leaseOwner: "a-runner-that-died",
      leaseExpiresAt: new Date(Date.now() - 60_000),
    });
    // A fresh run, claimed after it with attempt 1: not a takeover.
    await insertRun(db, {
      id: queuedLater,
      kind: "github",
      state: "queued",
      repo: "octo-org/dash",
      issueNumber: 2,
      createdAt: new Date(Date.now() + 1000),
    });
    if (!pgUrl) await database.close();

    const keys = generateAppKeys();
    up = await startAirlockProcess("up", {
      APP_ID: "4242",
      PRIVATE_KEY: keys.privateKey,
      WEBHOOK_SECRET: "dashboard-webhook-secret-0123456789",
      AIRLOCK_TOKEN_SECRET: tokenSecret,
      // Nothing answers there: the taken-over run fails at its first GitHub call, after the takeover is counted.
      GITHUB_API_URL: "http://127.0.0.1:9",
      OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
      OPENAI_API_KEY: "sk-never-used",
      AIRLOCK_RUNNER_ID: `dashboard-${process.pid}`,
      AIRLOCK_DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      NODE_ENV: "production",
      // Info: the test waits for the runner's "claimed a run" lines.
      AIRLOCK_LOG_LEVEL: "info",
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    });
    // Wait for both claims (the takeover, then the fresh run); the database gauges then stay put.
    const deadline = Date.now() + 60_000;
    for (;;) {
      // The runner counts a takeover in the same tick as it logs the claim: scraped after the
      // fresh run's claim is logged, /metrics has seen both claims.
      const claimedLater = up
        .logs()
        .split("\n")
        .some((line) => line.includes(`"runId":"${queuedLater}"`) && line.includes('"msg":"claimed a run"'));
      if (claimedLater) {
        metricsText = await (await fetch(`${up.url}/metrics`)).text();
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`the runner never claimed both runs; its log:\n${up.logs().slice(-4000)}`);
      }
      await sleep(200);
    }
  });
  after(async () => {
    await up?.stop();
    if (scratch) await scratch.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("has the panels issue 13 asks for", () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const wanted of [
      "Runs by state",
      "Cost per repository",
      "Tokens per repository",
      "LLM calls and errors by upstream",
      "Proxy added latency",
      "Sandbox start time",
      "Queue depth and lease takeovers",
      "Capability requests by decision",
      "Where a run's time goes",
    ]) {
      assert.ok(titles.includes(wanted), `a panel "${wanted}" (have: ${titles.join(", ")})`);
    }
  });

  it("serves every metric a panel queries, with the type the query needs", () => {
    const exposed = readExposedTypes(metricsText);
    let checked = 0;
    for (const panel of dashboard.panels) {
      const queried = new Map<string, MetricType>();
      for (const target of panel.targets) {
        for (const [name, type] of findQueriedMetrics(target.expr)) queried.set(name, type);
      }
      assert.ok(queried.size > 0, `panel "${panel.title}" queries an airlock metric`);
      for (const [name, type] of queried) {
        assert.equal(
          exposed.get(name),
          type,
          `panel "${panel.title}" reads ${name} as a ${type}; /metrics has ${exposed.get(name) ?? "no such metric"}`,
        );
        checked += 1;
      }
    }
    assert.ok(checked >= dashboard.panels.length, `${checked} metric uses checked`);
  });

  it("counts the takeover once, and reads the gauges from the database at each scrape", async () => {
    assert.equal(
      readSample(metricsText, "airlock_lease_takeovers_total"),
      1,
      "the lapsed run counts as a takeover, the fresh one does not",
    );
    assert.equal(readSample(metricsText, `airlock_runs{state="succeeded"}`), 0, "every state is listed");
    assert.equal(
      readSample(metricsText, `airlock_capability_requests_by_decision{kind="apt",decision="pending"}`),
      1,
    );
    const pgUrl = process.env.TEST_DATABASE_URL;
    if (!pgUrl) return; // PGlite belongs to the `up` process while it runs.
    const db = database.db;
    const [row] = await db
      .select({ attempt: runs.attempt, owner: runs.leaseOwner })
      .from(runs)
      .where(eq(runs.id, takenOver));
    assert.equal(row?.attempt, 2, "the takeover raised the attempt");
    assert.equal(row?.owner, `dashboard-${process.pid}`);

    // A run recorded now shows at the next scrape: nothing is cached. The runner may still be
    // moving its own runs between states, so the scrape is compared with the database until
    // the two agree (bounded).
    await insertRun(db, { id: "rdashlater", kind: "manual", state: "queued" });
    const deadline = Date.now() + 15_000;
    for (;;) {
      const text = await (await fetch(`${up.url}/metrics`)).text();
      const [queued] = await db.select({ n: count() }).from(runs).where(eq(runs.state, "queued"));
      const claimable = await countClaimableRuns(db);
      const shown = [
        readSample(text, `airlock_runs{state="queued"}`),
        readSample(text, "airlock_queue_depth"),
      ];
      if (shown[0] === Number(queued?.n) && shown[1] === claimable) {
        assert.ok(shown[0] >= 2, "both manual runs are counted");
        break;
      }
      if (Date.now() > deadline) {
        assert.deepEqual(shown, [Number(queued?.n), claimable], "the gauges never matched the database");
      }
    }
  });

  it("observes each run's phases in airlock_run_phase_seconds by phase and agent, as stored with the run (issue 15)", async () => {
    // The fresh run was claimed out of the queue: its queued phase is stored and observed
    // just after the claim (it then fails at its first GitHub call: no publish phase).
    const series = `airlock_run_phase_seconds_count{phase="queued",agent="builtin"}`;
    const deadline = Date.now() + 15_000;
    let text = metricsText;
    while (readSample(text, series) === undefined) {
      if (Date.now() > deadline) assert.fail(`no ${series} on /metrics:\n${text.slice(0, 4000)}`);
      text = await (await fetch(`${up.url}/metrics`)).text();
    }
    assert.equal(readExposedTypes(text).get("airlock_run_phase_seconds"), "histogram");
    assert.equal(
      readSample(text, series),
      1,
      "one claim out of the queue: the taken-over run was not queued",
    );
    assert.ok(
      text.includes(`airlock_run_phase_seconds_bucket{le="+Inf",phase="queued",agent="builtin"} 1`),
      text,
    );
    const pgUrl = process.env.TEST_DATABASE_URL;
    if (!pgUrl) return;
    const phases = (await listRunEvents(database.db, queuedLater))
      .filter((e) => e.type === "run.phase")
      .map((e) => checkRunEventData("run.phase", e.data));
    assert.deepEqual(
      phases.map((p) => [p.phase, p.segment]),
      [["queued", 0]],
    );
    assert.equal(
      readSample(text, `airlock_run_phase_seconds_sum{phase="queued",agent="builtin"}`),
      (phases[0]?.ms ?? NaN) / 1000,
      "the histogram observed what the run stored",
    );
  });

  it("finds the metric names and types a query needs", () => {
    assert.deepEqual(
      findQueriedMetrics(
        "histogram_quantile(0.95, sum by (le) (rate(airlock_x_seconds_bucket[5m]))) + sum(increase(airlock_y_total[1h])) / max(airlock_z)",
      ),
      new Map<string, MetricType>([
        ["airlock_x_seconds", "histogram"],
        ["airlock_y_total", "counter"],
        ["airlock_z", "gauge"],
      ]),
    );
  });
});
