// Issue 15: "16 concurrent `airlock run`s: 189 s wall, slower than the same 16 one after
// another (~120 s); goal: concurrency never slower than serial".
//
//   node bench/airlock-run-concurrency.ts [--runs 16] [--database both|postgres|embedded]
//                                         [--airlock bin/airlock.js]
//
// Starts `--runs` real `airlock run` processes (builtin agent, Airlock's scripted demo model:
// no LLM configured) on one local repository and one data folder, first one after another,
// then all at once, and prints the wall time of each with the goal beside it. `postgres`
// uses a scratch database made from TEST_DATABASE_URL; `embedded` the PGlite database in the
// data folder, as a new user's first runs do. `--airlock` runs another checkout's CLI (the
// figures "before" a change). Beside each figure: the load average, and CPU seconds per group
// from /proc deltas (bench/sample-process-cpu.ts). Needs Docker and the builtin image.
import { spawn, execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createScratchDatabase, type ScratchDatabase } from "../test/helpers/scratch-database.ts";
import { startCpuSampler, type CpuReport } from "./sample-process-cpu.ts";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "16" },
    database: { type: "string", default: "both" },
    airlock: { type: "string", default: fileURLToPath(new URL("../bin/airlock.js", import.meta.url)) },
  },
});
const count = Number(flags.runs);
const bin = resolve(flags.airlock);
const perModeTimeoutMs = 10 * 60_000;

interface Result {
  database: string;
  mode: "one after another" | "all at once";
  wallS: number;
  succeeded: number;
  waited: number;
  load: [number, number];
  cpu: CpuReport;
}

interface Outcome {
  code: number | null;
  waited: boolean;
}

/** One `airlock run`, as an operator types it; killed past the deadline. */
function runOnce(env: NodeJS.ProcessEnv, repo: string, i: number, deadline: number): Promise<Outcome> {
  const child = spawn(
    process.execPath,
    [bin, "run", "--repo", repo, "--agent", "builtin", "--prompt", `Say hello ${i}`, "--deny-requests"],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadline - Date.now()));
  return new Promise((done) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) process.stderr.write(`run ${i} exited ${String(code)}: ${stderr.slice(-400)}\n`);
      done({ code, waited: /waiting for/.test(stderr) });
    }),
  );
}

async function measure(
  database: string,
  mode: Result["mode"],
  env: NodeJS.ProcessEnv,
  repo: string,
): Promise<Result> {
  const cpu = startCpuSampler(({ ppid, comm, cmdline }) => {
    if (ppid === process.pid && cmdline.includes(" run ")) return { group: "airlock run", children: true };
    if (comm === "dockerd") return { group: "dockerd", children: false };
    if (comm === "containerd" || comm.startsWith("containerd-shim"))
      return { group: "containerd", children: false };
    if (comm === "postgres") return { group: "postgres", children: false };
    return undefined;
  });
  const load0 = loadavg()[0]!;
  const started = Date.now();
  const deadline = started + perModeTimeoutMs;
  const outcomes: Outcome[] = [];
  if (mode === "one after another") {
    for (let i = 0; i < count; i++) outcomes.push(await runOnce(env, repo, i, deadline));
  } else {
    outcomes.push(
      ...(await Promise.all(Array.from({ length: count }, (_, i) => runOnce(env, repo, i, deadline)))),
    );
  }
  const wallS = (Date.now() - started) / 1000;
  return {
    database,
    mode,
    wallS,
    succeeded: outcomes.filter((o) => o.code === 0).length,
    waited: outcomes.filter((o) => o.waited).length,
    load: [load0, loadavg()[0]!],
    cpu: await cpu.stop(),
  };
}

const dir = await mkdtemp(join(tmpdir(), "airlock-run-concurrency-"));
const results: Result[] = [];
let scratch: ScratchDatabase | undefined;
try {
  const repo = join(dir, "repo");
  execFileSync("git", ["init", "-q", "-b", "main", repo]);
  await writeFile(join(repo, "README.md"), "# demo\n");
  const git = (...args: string[]) =>
    execFileSync("git", ["-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost", ...args]);
  git("add", ".");
  git("commit", "-qm", "init");
  const databases = flags.database === "both" ? ["postgres", "embedded"] : [flags.database];
  for (const database of databases) {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AIRLOCK_TOKEN_SECRET: "bench-token-secret-0123456789abcdef0123456789",
      AIRLOCK_DATA_DIR: join(dir, `data-${database}`),
    };
    if (database === "postgres") {
      const base = process.env.TEST_DATABASE_URL;
      if (!base) throw new Error("TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)");
      scratch = await createScratchDatabase(base);
      env.DATABASE_URL = scratch.url;
    }
    // One run first, not counted: migrations, the image check, the first clone.
    await runOnce(env, repo, -1, Date.now() + perModeTimeoutMs);
    for (const mode of ["one after another", "all at once"] as const) {
      process.stderr.write(`${database}: ${count} runs ${mode}…\n`);
      results.push(await measure(database, mode, env, repo));
      process.stderr.write(`  ${results.at(-1)!.wallS.toFixed(1)} s\n`);
    }
    await scratch?.drop();
    scratch = undefined;
  }
} finally {
  await scratch?.drop();
  await rm(dir, { recursive: true, force: true });
}

const f1 = (n: number) => n.toFixed(1);
const lines = [
  `${count} \`airlock run\`s (builtin agent, demo model, one repository and data folder), ${new Date().toISOString().slice(0, 16)} UTC, ${bin}`,
  "",
  "| database | runs | wall | succeeded | waited for a slot | goal | load avg (start → end) | CPU busy (machine) | containers | dockerd + containerd | postgres | airlock run processes |",
  "| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ...results.map((r) => {
    const serial = results.find((x) => x.database === r.database && x.mode === "one after another");
    const goal =
      r.mode === "one after another" || serial === undefined
        ? "–"
        : `≤ ${f1(serial.wallS)} s (serial) ${r.wallS <= serial.wallS && r.succeeded === count ? "✅" : "❌"}`;
    const g = r.cpu.byGroup;
    return `| ${r.database} | ${r.mode} | ${f1(r.wallS)} s | ${r.succeeded}/${count} | ${r.waited} | ${goal} | ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)} | ${f1(r.cpu.machineBusyS)} s | ${r.cpu.containersS === undefined ? "–" : `${f1(r.cpu.containersS)} s`} | ${f1((g.dockerd ?? 0) + (g.containerd ?? 0))} s | ${f1(g.postgres ?? 0)} s | ${f1(g["airlock run"] ?? 0)} s |`;
  }),
];
console.log(lines.join("\n"));
