// Issue 13 §5 and issue 15 (concurrency): runs per minute of queued GitHub runs, with 1, 2 and
// 4 `airlock runner` processes against one Postgres, and with one runner process at
// AIRLOCK_RUNNER_CONCURRENCY 1, 2, 4 and 8.
//
//   node bench/runs-per-minute.ts [--runs 32] [--runners 1,2,4] [--runner-concurrency 1]
//                                 [--concurrency 1,2,4,8] [--concurrency-runs 16]
//                                 [--installations 8] [--only runners|concurrency]
//
// Needs Docker, Postgres (TEST_DATABASE_URL: a scratch database is made and dropped) and the
// builtin agent image. With the defaults: about 10 minutes expected on a quiet 2-core machine (22 measured under
// a load average of 10-16).
//
// The runs are queued through the real `airlock app` and the GitHub stand-in, as a maintainer
// queues them (bench/label-issue-for-run.ts): the app records each run, posts its tracking
// comment and hands it to the runners, exactly what a runner expects to find. Recording rows
// directly would mean copying the app's recording (tracking comment, audit, lease) into the
// bench. Each batch is queued whole while no runner runs, then the runner processes start;
// the clock runs from the first claim to the last run published (its pull request and result
// comment on the stand-in). The model is the scripted one (test/e2e/start-e2e-world.ts): each
// run edits one file and finishes.
//
// The runs are spread over `--installations` installations, one repository each: Octokit
// paces an installation's content-creating writes (pull request, result comment) 3 s apart in
// each process, which alone caps one installation at ~10 published runs a minute per runner
// process. `--installations 1` shows that cap.
//
// Beside each figure: the load average (other work on the machine shows there), CPU seconds
// per process group from /proc/<pid>/stat deltas (bench/sample-process-cpu.ts) and the
// containers' cgroup, and Postgres' lock waits (bench/sample-postgres-activity.ts).
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { and, eq, inArray } from "drizzle-orm";
import { getAgent } from "../core/agents/get-agent.ts";
import { checkRunEventData } from "../core/db/run-event-schemas.ts";
import { runEvents, runs, type Run } from "../core/db/schema.ts";
import { createLogger } from "../core/logger.ts";
import { createDockerContainerRuntime } from "../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../runner/images/build-agent-image.ts";
import type { AirlockProcess } from "../test/e2e/start-airlock-process.ts";
import { startE2eWorld, type E2eWorld } from "../test/e2e/start-e2e-world.ts";
import { waitUntil } from "../test/helpers/wait-until.ts";
import { labelIssueForRun } from "./label-issue-for-run.ts";
import { startCpuSampler, type CpuReport } from "./sample-process-cpu.ts";
import { startPostgresSampler, type PostgresReport } from "./sample-postgres-activity.ts";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "32" },
    runners: { type: "string", default: "1,2,4" },
    "runner-concurrency": { type: "string", default: "1" },
    concurrency: { type: "string", default: "1,2,4,8" },
    "concurrency-runs": { type: "string", default: "16" },
    installations: { type: "string", default: "8" },
    only: { type: "string" },
  },
});
const list = (v: string) =>
  v
    .split(",")
    .map((n) => Number(n.trim()))
    .filter((n) => n > 0);
const runnersRuns = Number(flags.runs);
const runnerCounts = list(flags.runners);
const runnerConcurrency = Number(flags["runner-concurrency"]);
const concurrencies = list(flags.concurrency);
const concurrencyRuns = Number(flags["concurrency-runs"]);
const installations = Math.max(1, Number(flags.installations));

interface Batch {
  runners: number;
  concurrency: number;
  runs: number;
  windowS: number;
  perMinute: number;
  load: [number, number];
  p50: { claimToPublished: number; containerStart: number; agent: number; publish: number };
  cpu: CpuReport;
  pg: PostgresReport;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
};

/** Queues `count` runs over the repositories, one repository's labels after another's. */
async function queueRuns(w: E2eWorld, repos: string[], count: number, tag: string): Promise<string[]> {
  const perRepo = repos.map((repo, i) =>
    (async () => {
      const issues: number[] = [];
      for (let n = i; n < count; n += repos.length) {
        issues.push((await labelIssueForRun(w, repo, `${tag}n${n}`)).issue);
      }
      return issues.map((issue) => ({ repo, issue }));
    })(),
  );
  const wanted = (await Promise.all(perRepo)).flat();
  // Queued = recorded, tracking comment posted, and the app's lease released.
  return waitUntil(
    `${count} queued runs`,
    async () => {
      const rows = await w.db.select().from(runs).where(eq(runs.state, "queued"));
      const ready = rows.filter(
        (r) => r.leaseOwner === null && wanted.some((x) => x.repo === r.repo && x.issue === r.issueNumber),
      );
      return ready.length === count ? ready.map((r) => r.id) : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 200 },
  );
}

async function runBatch(
  w: E2eWorld,
  repos: string[],
  options: { runners: number; concurrency: number; runs: number; tag: string },
): Promise<Batch> {
  const ids = await queueRuns(w, repos, options.runs, options.tag);
  const cpu = startCpuSampler(({ pid, ppid, comm, cmdline }) => {
    if (pid === process.pid) return { group: "bench: stand-ins, scripted model, git", children: true };
    if (ppid === process.pid && cmdline.includes("airlock.js runner"))
      return { group: "runners", children: true };
    if (ppid === process.pid && cmdline.includes("airlock.js app")) return { group: "app", children: true };
    if (comm === "dockerd") return { group: "dockerd", children: false };
    if (comm === "containerd") return { group: "containerd", children: false };
    if (comm.startsWith("containerd-shim")) return { group: "containerd-shim", children: false };
    if (comm === "postgres") return { group: "postgres (all databases)", children: false };
    return undefined;
  });
  const pg = startPostgresSampler(w.db);
  const load0 = loadavg()[0]!;
  const started: AirlockProcess[] = await Promise.all(
    Array.from({ length: options.runners }, (_, i) =>
      w.startRunner(`bench-${options.tag}-r${i}`, {
        AIRLOCK_RUNNER_CONCURRENCY: String(options.concurrency),
      }),
    ),
  );
  let done: Run[];
  let cpuReport: CpuReport;
  let pgReport: PostgresReport;
  let load1: number;
  try {
    done = await w.waitFor(
      `${options.runs} runs published`,
      async () => {
        const rows = await w.db.select().from(runs).where(inArray(runs.id, ids));
        return rows.every((r) => r.publishedAt !== null) ? rows : undefined;
      },
      600_000,
    );
  } finally {
    cpuReport = await cpu.stop();
    pgReport = await pg.stop();
    load1 = loadavg()[0]!;
    await Promise.all(started.map((r) => r.stop("SIGTERM")));
    w.runners.splice(0, w.runners.length, ...w.runners.filter((r) => !started.includes(r)));
  }
  const failed = done.filter((r) => r.state !== "succeeded");
  if (failed.length > 0)
    throw new Error(
      `${failed.length} runs did not succeed: ${failed.map((r) => `${r.id} ${r.state} ${r.outcomeReason}`).join("; ")}`,
    );
  const events = await w.db
    .select()
    .from(runEvents)
    .where(and(inArray(runEvents.runId, ids), eq(runEvents.type, "run.phase")));
  const claimedAt = new Map<string, number>();
  const phaseMs: Record<string, number[]> = {};
  for (const e of events) {
    const data = checkRunEventData("run.phase", e.data);
    (phaseMs[data.phase] ??= []).push(data.ms);
    if (data.phase === "queued") claimedAt.set(e.runId, e.at.getTime());
  }
  const firstClaim = Math.min(...claimedAt.values());
  const lastPublished = Math.max(...done.map((r) => r.publishedAt!.getTime()));
  const windowS = (lastPublished - firstClaim) / 1000;
  return {
    runners: options.runners,
    concurrency: options.concurrency,
    runs: options.runs,
    windowS,
    perMinute: (options.runs / windowS) * 60,
    load: [load0, load1],
    p50: {
      claimToPublished: median(done.map((r) => r.publishedAt!.getTime() - (claimedAt.get(r.id) ?? NaN))),
      containerStart: median(phaseMs.container_start ?? []),
      agent: median(phaseMs.agent ?? []),
      publish: median(phaseMs.publish ?? []),
    },
    cpu: cpuReport,
    pg: pgReport,
  };
}

const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const f1 = (n: number) => n.toFixed(1);

function printTable(title: string, goal: string, batches: Batch[], key: (b: Batch) => string): void {
  const lines = [
    `### ${title}`,
    "",
    `| | runs | window | **runs/min** | goal | load avg (start → end) | p50 claim → published | p50 container start / agent / publish |`,
    "| --- | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ...batches.map(
      (b) =>
        `| ${key(b)} | ${b.runs} | ${f1(b.windowS)} s | **${f1(b.perMinute)}** | ${goal} | ${b.load[0].toFixed(2)} → ${b.load[1].toFixed(2)} | ${s1(b.p50.claimToPublished)} | ${s1(b.p50.containerStart)} / ${s1(b.p50.agent)} / ${s1(b.p50.publish)} |`,
    ),
    "",
    "CPU over the window, seconds (share of the machine's 2 cores × window):",
    "",
    `| | machine busy | containers (cgroup) | dockerd | containerd + shims | postgres | runners | app | bench | other |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...batches.map((b) => {
      const g = b.cpu.byGroup;
      const capacity = b.cpu.cores * b.cpu.windowS;
      const pct = (v: number) => `${f1(v)} (${Math.round((v / capacity) * 100)} %)`;
      const shims = (g.containerd ?? 0) + (g["containerd-shim"] ?? 0);
      const named = (b.cpu.containersS ?? 0) + Object.values(g).reduce((a, c) => a + c, 0);
      return `| ${key(b)} | ${pct(b.cpu.machineBusyS)} | ${b.cpu.containersS === undefined ? "–" : pct(b.cpu.containersS)} | ${pct(g.dockerd ?? 0)} | ${pct(shims)} | ${pct(g["postgres (all databases)"] ?? 0)} | ${pct(g.runners ?? 0)} | ${pct(g.app ?? 0)} | ${pct(g["bench: stand-ins, scripted model, git"] ?? 0)} | ${pct(Math.max(0, b.cpu.machineBusyS - named))} |`;
    }),
    "",
    "Postgres (this database), sampled every 250 ms:",
    "",
    "| | commits | commits/s | mean active backends | samples with a lock wait | samples with another wait |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...batches.map(
      (b) =>
        `| ${key(b)} | ${b.pg.commits} | ${f1(b.pg.commits / b.cpu.windowS)} | ${b.pg.meanActive.toFixed(2)} | ${b.pg.samplesWithLockWait} / ${b.pg.samples} | ${b.pg.samplesWithOtherWait} / ${b.pg.samples} |`,
    ),
    "",
  ];
  console.log(lines.join("\n"));
}

const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
await buildAgentImage(runtime, { agent: getAgent("builtin") });
// A lease of 30 s (the e2e world's 4 s is for tests of lapses): a loaded machine must not
// hand a slow run to a second runner.
const w = await startE2eWorld({ env: { AIRLOCK_LOG_LEVEL: "warn", AIRLOCK_LEASE_S: "30" } });
try {
  const repos: string[] = [];
  for (let i = 0; i < installations; i++) {
    const owner = `bench-org-${i}`;
    w.gh.createInstallation({ id: 9000 + i, account: owner });
    await w.gh.createRepo({
      owner,
      name: "bench",
      installationId: 9000 + i,
      files: { "README.md": "# bench\n", "src/greet.js": 'export const greeting = "hello";\n' },
    });
    w.gh.setPermission(`${owner}/bench`, "maintainer", "write");
    repos.push(`${owner}/bench`);
  }
  process.stderr.write(`warm-up: one run (installation tokens, the image check)…\n`);
  await runBatch(w, repos, { runners: 1, concurrency: 1, runs: Math.min(installations, 4), tag: "warm" });
  const header = `Runs per minute, ${new Date().toISOString().slice(0, 16)} UTC, ${installations} installations; builtin agent, scripted model, one-file change each`;
  console.log(header + "\n");
  // One runner at the concurrency the runner table uses is also a row of the concurrency table.
  let reusable: Batch | undefined;
  if (flags.only !== "concurrency") {
    const batches: Batch[] = [];
    for (const n of runnerCounts) {
      process.stderr.write(
        `${n} runner process(es), concurrency ${runnerConcurrency}, ${runnersRuns} runs…\n`,
      );
      batches.push(
        await runBatch(w, repos, {
          runners: n,
          concurrency: runnerConcurrency,
          runs: runnersRuns,
          tag: `p${n}`,
        }),
      );
      if (n === 1) reusable = batches.at(-1);
      process.stderr.write(`  ${f1(batches.at(-1)!.perMinute)} runs/min\n`);
    }
    printTable(
      `Runner processes (AIRLOCK_RUNNER_CONCURRENCY=${runnerConcurrency} each), one Postgres`,
      "more runners: more runs/min until a shared resource is full",
      batches,
      (b) => `${b.runners} runner${b.runners === 1 ? "" : "s"}`,
    );
  }
  if (flags.only !== "runners") {
    const batches: Batch[] = [];
    for (const c of concurrencies) {
      if (reusable?.concurrency === c) {
        batches.push(reusable);
        continue;
      }
      process.stderr.write(`1 runner process, concurrency ${c}, ${concurrencyRuns} runs…\n`);
      batches.push(
        await runBatch(w, repos, { runners: 1, concurrency: c, runs: concurrencyRuns, tag: `c${c}` }),
      );
      process.stderr.write(`  ${f1(batches.at(-1)!.perMinute)} runs/min\n`);
    }
    printTable(
      "One runner process, AIRLOCK_RUNNER_CONCURRENCY",
      "the default: the highest before runs/min stops rising",
      batches,
      (b) => `concurrency ${b.concurrency}`,
    );
  }
} finally {
  await w.close();
}
