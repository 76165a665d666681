// Issue 15 benchmark: a label becomes a draft pull request.
// `node bench/label-to-pr.ts [runs=9] [gap-ms=3500] [app+runner|up]`
// Goal: ≤ 3 s p50 (the issue's baseline: 4.0–7.6 s). Needs Docker, Postgres
// (TEST_DATABASE_URL: a scratch database is made and dropped) and the builtin agent image.
//
// The real `airlock app` and `airlock runner` processes, the strict GitHub stand-in and the
// scripted LLM (test/e2e/start-e2e-world.ts): each round labels a new issue `airlock:builtin`,
// the scripted model edits one file and finishes, and the round ends when the run is
// published. One warm-up round first (the first installation token, the first image check),
// not counted. Rounds run one after another, `gap-ms` apart, so each measures one run alone.
//
// Per round: label → draft PR (the stand-in holds the pull request; polled every 10 ms), label
// → the tracking comment shows the result (polled the same way), label → published (runs.published_at), the webhook's own time (label → the run's record), and
// each phase as the run stored it (`run.phase` events, core/run-phases.ts). "unaccounted" is
// label → published less the webhook and every phase: state writes, the tracking comment,
// audit appends between phases. Prints p50/p95 per line, then the rounds as JSON.
import { setTimeout as sleep } from "node:timers/promises";
import { and, asc, eq } from "drizzle-orm";
import { getAgent } from "../core/agents/get-agent.ts";
import { checkRunEventData } from "../core/db/run-event-schemas.ts";
import { runEvents, runs } from "../core/db/schema.ts";
import { createLogger } from "../core/logger.ts";
import { runPhases, type RunPhase } from "../core/run-phases.ts";
import { createDockerContainerRuntime } from "../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../runner/images/build-agent-image.ts";
import { startAirlockProcess, type AirlockProcess } from "../test/e2e/start-airlock-process.ts";
import { e2eOwner, startE2eWorld, type E2eWorld } from "../test/e2e/start-e2e-world.ts";
import { labelIssueForRun } from "./label-issue-for-run.ts";

const rounds = Number(process.argv[2] ?? 9);
// Octokit spaces an installation's content-creating writes 3 s apart in each process: a
// round started at once after the last one's result comment waits for that. The gap measures
// a label on its own; `0` measures labels back to back.
const gapMs = Number(process.argv[3] ?? 3500);
// `up`: app and runner in one process (the single-machine default), where Octokit's pacing
// is shared between them; default: `airlock app` and `airlock runner` apart.
const mode = process.argv[4] === "up" ? "up" : "app+runner";
const goalP50Ms = 3000;
const baseline = "4.0–7.6 s";

interface Round {
  toPullMs: number;
  /** Label → the tracking comment says the run ended (its `Result:` link). */
  toTrackingClosedMs: number;
  toPublishedMs: number;
  webhookMs: number;
  phases: Partial<Record<RunPhase, number>>;
  unaccountedMs: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};
const s = (ms: number) => (Number.isNaN(ms) ? "–" : `${(ms / 1000).toFixed(2)} s`);

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function runRound(w: E2eWorld, repo: string, name: string): Promise<Round> {
  const { issue, labelledAt: labelled } = await labelIssueForRun(w, repo, name);
  // Polled beside the pull request's wait: when the tracking comment first shows the result.
  const trackingClosedAt = new Map<string, number>();
  let polling = true;
  const watchTracking = (async () => {
    while (polling) {
      for (const c of w.gh.state.comments) {
        const id = /<!-- airlock:tracking:([^ ]+) -->/.exec(c.body)?.[1];
        if (id !== undefined && c.body.includes("Result:") && !trackingClosedAt.has(id))
          trackingClosedAt.set(id, Date.now());
      }
      await sleep(10);
    }
  })();
  const pulledAt = await waitFor("the draft pull request", () =>
    w.gh.state.pulls.some((p) => p.repo === repo && p.head.startsWith(`airlock/${issue}-`))
      ? Date.now()
      : undefined,
  );
  const run = await waitFor("the run's record", async () =>
    (await w.runsOf(repo)).find((r) => r.issueNumber === issue && r.publishedAt !== null),
  );
  const closedAt = await waitFor("the tracking comment's result", () => trackingClosedAt.get(run.id));
  if (run.state !== "succeeded")
    throw new Error(`run ${run.id} ended ${run.state}: ${run.outcomeReason}${w.diagnostics()}`);
  // The publish phase is stored just after published_at is set.
  const events = await waitFor("the publish phase", async () => {
    const rows = await w.db
      .select()
      .from(runEvents)
      .where(and(eq(runEvents.runId, run.id), eq(runEvents.type, "run.phase")))
      .orderBy(asc(runEvents.id));
    const parsed = rows.map((r) => checkRunEventData("run.phase", r.data));
    return parsed.some((p) => p.phase === "publish") ? parsed : undefined;
  });
  polling = false;
  await watchTracking;
  const phases: Partial<Record<RunPhase, number>> = {};
  for (const e of events) phases[e.phase] = (phases[e.phase] ?? 0) + e.ms;
  const [stored] = await w.db.select().from(runs).where(eq(runs.id, run.id));
  const toPublishedMs = stored!.publishedAt!.getTime() - labelled;
  const webhookMs = run.createdAt.getTime() - labelled;
  const phaseSum = Object.values(phases).reduce((a, b) => a + b, 0);
  return {
    toPullMs: pulledAt - labelled,
    toTrackingClosedMs: closedAt - labelled,
    toPublishedMs,
    webhookMs,
    phases,
    unaccountedMs: toPublishedMs - webhookMs - phaseSum,
  };
}

const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
await buildAgentImage(runtime, { agent: getAgent("builtin") });
const w = await startE2eWorld({ env: { AIRLOCK_LOG_LEVEL: "warn" } });
let up: AirlockProcess | undefined;
try {
  const repo = `${e2eOwner}/bench`;
  await w.newRepo("bench", { "src/greet.js": 'export const greeting = "hello";\n' });
  if (mode === "up") {
    // The world's `airlock app` stays up but hears nothing: the webhooks go to `airlock up`.
    up = await startAirlockProcess("up", { ...w.env, AIRLOCK_RUNNER_ID: `bench-up-${process.pid}` });
    w.gh.setWebhookUrl(`${up.url}/api/github/webhooks`);
  } else {
    await w.startRunner(`bench-runner-${process.pid}`);
  }
  await runRound(w, repo, "warmup");
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    await sleep(gapMs);
    const round = await runRound(w, repo, `round${i}`);
    results.push(round);
    process.stderr.write(`round ${i + 1}/${rounds}: label → draft PR ${s(round.toPullMs)}\n`);
  }
  const line = (name: string, values: number[], extra = "") =>
    `| ${name} | ${s(percentile(values, 50))} | ${s(percentile(values, 95))} |${extra}`;
  const out = [
    `label → draft PR, ${rounds} runs of a one-file change (builtin agent, scripted model), ${s(gapMs)} apart, ${mode}`,
    "",
    "| | p50 | p95 |",
    "| --- | --- | --- |",
    line(
      "webhook → run recorded",
      results.map((r) => r.webhookMs),
    ),
    ...runPhases.map((phase) =>
      line(
        phase.replace("_", " "),
        results.map((r) => r.phases[phase] ?? NaN).filter((v) => !Number.isNaN(v)),
      ),
    ),
    line(
      "unaccounted (state writes, tracking comment, audit)",
      results.map((r) => r.unaccountedMs),
    ),
    line(
      "label → tracking comment shows the result",
      results.map((r) => r.toTrackingClosedMs),
    ),
    line(
      "**label → published**",
      results.map((r) => r.toPublishedMs),
    ),
    line(
      "**label → draft PR**",
      results.map((r) => r.toPullMs),
    ),
    "",
    `label → draft PR p50 ${s(
      percentile(
        results.map((r) => r.toPullMs),
        50,
      ),
    )}; goal ≤ ${s(goalP50Ms)} p50; the issue's baseline ${baseline}`,
  ];
  console.log(out.join("\n"));
  console.log(JSON.stringify({ rounds: results }));
} finally {
  await up?.stop("SIGKILL");
  await w.close();
}
