// Issue 13 §4: chaos, with figures.
// `node bench/chaos.ts [--runs 50] [--seed 1] [--kills 24] [--deadline-s 900] [--cut-every 5]`
// Needs Docker and the builtin and claude-code agent images' inputs (built here, from cache
// when they are); Postgres binaries in /usr/lib/postgresql/15/bin (AIRLOCK_BENCH_PG_BIN).
//
// Postgres: the benchmark never touches the machine's server. It starts a cluster of its own
// (bench/start-throwaway-postgres.ts: `initdb` into a temp folder as the `postgres` user,
// since we run as root; its own loopback port and socket folder; `pg_ctl` to start, restart
// and stop it), points TEST_DATABASE_URL at it so the e2e world's scratch database (migrated
// there) lives in it, restarts it once mid-way (`pg_ctl restart -m immediate`: a crash stop,
// recovery on start), and removes the folder at the end.
//
// The world is the e2e one (test/e2e/start-e2e-world.ts): the strict GitHub stand-in sending
// signed webhooks, the scripted LLM upstream behind the per-turn script picker, and the real
// `airlock app` process; two `airlock runner` processes (runner ids fixed, as an operator
// configures them, so a restarted runner reaps its predecessor's containers), each working two
// runs at once, leases of 4 s. Issues are labelled one to three seconds apart; each gets its
// own scripts: builtin runs edit one file and finish; every `--cut-every`-th issue runs Claude
// Code (streaming Anthropic), whose first model call's socket the upstream destroys after two
// content chunks (`reset-mid-stream`).
// A delivery the app does not answer 2xx (it was killed, or Postgres was down) is redelivered
// with the same X-GitHub-Delivery, as an operator redelivers failed deliveries on GitHub.
//
// Chaos, drawn from `--seed` (mulberry32): every 4–12 s one process is SIGKILLed, a runner
// (4 in 5) or the app (1 in 5), and started again 0–2 s later, up to `--kills` kills; once,
// when half the issues are labelled, Postgres restarts. Kills go on while runs are unfinished.
//
// Figures (bench/count-chaos-figures.ts), goal beside each, then the details as JSON. LLM
// calls: "served" is every request the upstream received on a model route, a stream it cut
// counted once; "recorded" is the sum of `upstream_attempts` over the llm_calls rows the proxy
// did not refuse itself (a cut stream is one row, status 200 with its error, the usage seen).
// Containers: the runners' reaper (same runner id on restart), the run's re-claim, and the
// e2e world's close remove the sandboxes of these runner ids, and only those.
// Process logs of killed processes are kept in the output folder it prints.
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { and, eq, isNull } from "drizzle-orm";
import { getAgent } from "../core/agents/get-agent.ts";
import { appLeaseOwner } from "../core/db/runs.ts";
import { runs } from "../core/db/schema.ts";
import { createLogger } from "../core/logger.ts";
import { createDockerContainerRuntime } from "../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../runner/images/build-agent-image.ts";
import { startAirlockProcess, type AirlockProcess } from "../test/e2e/start-airlock-process.ts";
import { startE2eWorld, type E2eWorld } from "../test/e2e/start-e2e-world.ts";
import { countChaosFigures, renderChaosTable, type ChaosRecord } from "./count-chaos-figures.ts";
import { startThrowawayPostgres } from "./start-throwaway-postgres.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "50" },
    seed: { type: "string", default: "1" },
    kills: { type: "string", default: "24" },
    "deadline-s": { type: "string", default: "900" },
    "cut-every": { type: "string", default: "5" },
  },
});
const total = Number(args.runs);
const seed = Number(args.seed);
const maxKills = Number(args.kills);
const deadlineS = Number(args["deadline-s"]);
const cutEvery = Number(args["cut-every"]);
const runnerIds = ["chaos-runner-a", "chaos-runner-b"];

/** mulberry32: a small seedable generator, so a run of the benchmark can be repeated. */
function createRandom(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = createRandom(seed);
const between = (min: number, max: number) => min + random() * (max - min);

const outDir = join(tmpdir(), `airlock-chaos-${seed}-${process.pid}`);
await mkdir(outDir, { recursive: true });
const loadAtStart = loadavg();
const startedAt = new Date();

const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
await buildAgentImage(runtime, { agent: getAgent("builtin") });
await buildAgentImage(runtime, { agent: getAgent("claude-code") });

const pg = await startThrowawayPostgres();
// The e2e world makes its scratch database under TEST_DATABASE_URL: here, the throwaway cluster.
process.env.TEST_DATABASE_URL = pg.url;
let w: E2eWorld | undefined;
const record: ChaosRecord = { issues: [], kills: [], pgRestart: undefined, redelivered: 0, redeliveries: 0 };
try {
  w = await startE2eWorld({
    env: { AIRLOCK_LOG_LEVEL: "warn", AIRLOCK_RUNNER_CONCURRENCY: "2", AIRLOCK_LEASE_S: "4" },
  });
  const world = w;
  const repo = await world.newRepo("chaos", {
    "src/greet.js": 'export const greeting = "hello";\n',
    ".github/airlock.yml": "agents: [builtin, claude-code]\n",
  });
  const runners = new Map<string, AirlockProcess>();
  for (const id of runnerIds) runners.set(id, await world.startRunner(id));

  const keepLogs = async (name: string, proc: AirlockProcess) =>
    writeFile(join(outDir, `${name}-${Date.now()}.log`), proc.logs());

  /** SIGKILL one process; note the runs it held (for the pick-up time); start it again. */
  async function kill(victim: string): Promise<void> {
    const owner = victim === "app" ? appLeaseOwner : victim;
    // Tried again, not swallowed: just after the Postgres restart the first query on a pooled
    // connection fails, and an empty answer would hide the runs the process held.
    let held: { id: string; leaseExpiresAt: Date | null }[] | undefined;
    for (let tries = 0; held === undefined; tries++) {
      held = await world.db
        .select({ id: runs.id, leaseExpiresAt: runs.leaseExpiresAt })
        .from(runs)
        .where(and(isNull(runs.publishedAt), eq(runs.leaseOwner, owner)))
        .catch((error: unknown) => {
          if (tries >= 20) throw error;
          return undefined;
        });
      if (held === undefined) await sleep(100);
    }
    const proc = victim === "app" ? world.app : runners.get(victim)!;
    const at = Date.now();
    await proc.stop("SIGKILL");
    record.kills.push({
      victim,
      at,
      heldRuns: held.map((r) => ({ id: r.id, leaseLeftMs: (r.leaseExpiresAt?.getTime() ?? at) - at })),
    });
    await keepLogs(victim, proc);
    await sleep(between(0, 2000));
    if (victim === "app") {
      world.app = await startAirlockProcess("app", world.env);
      world.gh.setWebhookUrl(`${world.app.url}/api/github/webhooks`);
    } else {
      runners.set(victim, await world.startRunner(victim));
    }
  }

  let labelled = 0;
  let allDone = false;
  const label = async (i: number) => {
    const name = `chaos${i}`;
    const cut = cutEvery > 0 && i % cutEvery === cutEvery - 1;
    if (cut) {
      world.upstream.define(`${name}.0`, {
        toolCall: {
          name: "Write",
          arguments: JSON.stringify({
            file_path: `/workspace/notes/${name}.txt`,
            content: `hello from ${name}\n`,
          }),
        },
        faults: [{ kind: "reset-mid-stream", afterChunks: 2 }],
      });
      world.upstream.define(`${name}.1`, { text: `Wrote notes/${name}.txt.` });
    } else {
      // A little model time, so kills find runs with their agent at work.
      world.upstream.define(`${name}.0`, {
        firstByteDelayMs: 400,
        toolCall: {
          name: "edit_file",
          arguments: JSON.stringify({ path: "src/greet.js", old: "hello", new: `hello, ${name}` }),
        },
      });
      world.upstream.define(`${name}.1`, {
        toolCall: { name: "finish", arguments: JSON.stringify({ summary: `Greeted ${name}.` }) },
      });
    }
    const issue = world.gh.createIssue(repo, {
      title: `Greet ${name}`,
      body: `The greeting should say hello, ${name}. [[script:${name}]]`,
      user: "maintainer",
    });
    const payload = world.gh.payloads.issuesLabeled({
      repo,
      issue: issue.number,
      label: cut ? "airlock:claude-code" : "airlock:builtin",
      sender: "maintainer",
    });
    const entry = {
      number: issue.number,
      name,
      agent: cut ? "claude-code" : "builtin",
      labelledAt: Date.now(),
      cut,
    };
    record.issues.push(entry);
    // One id for every try: a redelivery on GitHub keeps the delivery's GUID, which is what
    // the app's idempotency keys on.
    const deliveryId = randomUUID();
    for (let tries = 0; ; tries++) {
      if (tries === 1) record.redelivered += 1;
      if (tries > 0) record.redeliveries += 1;
      try {
        const answer = await world.gh.deliver("issues", payload, { deliveryId });
        if (answer.status >= 200 && answer.status < 300) break;
      } catch {
        // The app is down (killed): GitHub marks the delivery failed; it is sent again.
      }
      await sleep(250);
    }
    labelled += 1;
  };

  const labelling = (async () => {
    for (let i = 0; i < total; i++) {
      await label(i);
      await sleep(between(1000, 3000));
    }
  })();

  const chaos = (async () => {
    while (!allDone && record.kills.length < maxKills) {
      await sleep(between(4000, 12_000));
      if (allDone) break;
      if (record.pgRestart === undefined && labelled >= total / 2) {
        const at = Date.now();
        await pg.restart("immediate");
        record.pgRestart = { at, ms: Date.now() - at };
        continue;
      }
      const victim = random() < 0.2 ? "app" : runnerIds[Math.floor(random() * runnerIds.length)]!;
      await kill(victim);
    }
  })();

  await labelling;
  const deadline = Date.now() + deadlineS * 1000;
  const lastLabelAt = Date.now();
  for (;;) {
    const numbers = new Set(record.issues.map((i) => i.number));
    const done = await world.db
      .select({ issue: runs.issueNumber, state: runs.state, publishedAt: runs.publishedAt })
      .from(runs)
      .catch(() => []);
    const finished = new Set(done.filter((r) => r.publishedAt !== null).map((r) => r.issue));
    if ([...numbers].every((n) => finished.has(n))) break;
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  allDone = true;
  await chaos;
  // The figures are read with every process still up: nothing may change under them but the
  // upstream's last writes, which `idle()` waits for.
  await world.upstream.idle();
  const figures = await countChaosFigures(world, record, { repo, deadline, bin: "bin/airlock.js" });
  const load = loadavg();
  console.log(
    renderChaosTable(
      figures,
      {
        date: startedAt.toISOString().slice(0, 16).replace("T", " "),
        total,
        seed,
        load: `${loadAtStart.map((l) => l.toFixed(2)).join(" ")} at start, ${load.map((l) => l.toFixed(2)).join(" ")} at the end`,
        wallS: (Date.now() - startedAt.getTime()) / 1000,
        afterLastLabelS: (Date.now() - lastLabelAt) / 1000,
      },
      record,
    ),
  );
  console.log(JSON.stringify({ figures, record }, null, 1));
  await writeFile(join(outDir, "app.log"), world.app.logs());
  for (const [id, proc] of runners) await writeFile(join(outDir, `${id}.log`), proc.logs());
  process.stderr.write(`logs: ${outDir}\n`);
} finally {
  await w?.close().catch((error: unknown) => process.stderr.write(`closing the world: ${String(error)}\n`));
  await pg.stop();
}
