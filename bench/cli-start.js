#!/usr/bin/env node
// Benchmark (not a test): the CLI's start-up, before and after (issue 15, "Start-up").
//
//   node bench/cli-start.js [--runs 20] [--baseline 43e8bb3] [--image airlock/base:<VERSION>]
//
// Times, as a user starts them (`node bin/airlock.js …`, a new process each):
//   airlock --version
//   airlock run --help            (the run command's start: its module and options, no run)
//   airlock sandbox exec -- true  (against `docker run --rm --network none <same image> true`)
// for this tree ("after") and for the commit --baseline names ("before", default 43e8bb3:
// main before issue 15's start-up work), extracted with `git archive` into a temporary
// folder that shares this tree's node_modules. Every command of both trees is interleaved
// (the order rotates each round, after two warm-up runs each), so load drifting on the
// machine spreads over all rows. Prints p50 / p90 of the wall time, and the median CPU time
// (user + sys, from /usr/bin/time), which a loaded machine disturbs less.
//
// "after" runs the bundle .build/cli/ when it is fresh (npm ci builds it; npm run build:cli
// rebuilds it); the header says which. Goal: sandbox exec adds ≤ 150 ms p50 over docker run.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { findFreshBundle } from "../cli/bundle/find-fresh-bundle.js";
import { benchOption, readRunsAndImage } from "./sandbox-bench-options.ts";

const goalMs = 150;
const root = fileURLToPath(new URL("..", import.meta.url));

const baseline = benchOption("--baseline", "43e8bb3");
const { runs, image } = readRunsAndImage(20);

// The baseline's files, with this tree's dependencies (the lock file did not change).
const before = mkdtempSync(join(tmpdir(), "airlock-baseline-"));
process.on("exit", () => rmSync(before, { recursive: true, force: true }));
execFileSync("sh", ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, baseline, before]);
symlinkSync(realpathSync(join(root, "node_modules")), join(before, "node_modules"));

const bundled = findFreshBundle(new URL(".build/cli/", `file://${root}`), "sandbox-main") !== undefined;
const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
// Only what the CLI needs: no AIRLOCK_* or DATABASE_URL from the caller's shell.
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir() };

const commands = [
  { id: "version", label: "`airlock --version`", args: ["--version"] },
  { id: "run", label: "`airlock run --help`", args: ["run", "--help"] },
  {
    id: "sandbox",
    label: "`airlock sandbox exec -- true`",
    args: ["sandbox", "exec", "--image", image, "--", "true"],
  },
];
const contenders = [
  ...commands.flatMap((c) => [
    { key: `${c.id}:before`, cmd: process.execPath, args: [join(before, "bin/airlock.js"), ...c.args] },
    { key: `${c.id}:after`, cmd: process.execPath, args: [join(root, "bin/airlock.js"), ...c.args] },
  ]),
  { key: "docker", cmd: "docker", args: ["run", "--rm", "--network", "none", image, "true"] },
];

function timeOnce({ cmd, args, key }) {
  return new Promise((resolve, reject) => {
    const argv = timeBin ? ["-f", "cpu %U %S", cmd, ...args] : args;
    const started = performance.now();
    const child = spawn(timeBin ?? cmd, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      const cpu = /cpu ([0-9.]+) ([0-9.]+)\s*$/.exec(stderr);
      if (code !== 0) reject(new Error(`${key} exited ${code}: ${stderr.trim()}`));
      else resolve({ ms, cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : NaN });
    });
  });
}

function percentile(sorted, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadAtStart = load();
const samples = new Map(contenders.map((c) => [c.key, []]));
for (const contender of contenders) {
  for (let i = 0; i < 2; i += 1) await timeOnce(contender);
}
for (let i = 0; i < runs; i += 1) {
  for (let k = 0; k < contenders.length; k += 1) {
    const contender = contenders[(k + i) % contenders.length];
    samples.get(contender.key).push(await timeOnce(contender));
  }
  process.stderr.write(`\r${i + 1}/${runs}`);
}
process.stderr.write("\n");

function stats(key) {
  const list = samples.get(key);
  const wall = list.map((s) => s.ms).sort((a, b) => a - b);
  const cpu = list.map((s) => s.cpuMs).sort((a, b) => a - b);
  return { p50: percentile(wall, 50), p90: percentile(wall, 90), cpu: percentile(cpu, 50) };
}
const fmt = (ms) => (Number.isNaN(ms) ? "–" : `${Math.round(ms)} ms`);
const cell = (s) => `${fmt(s.p50)} / ${fmt(s.p90)} (CPU ${fmt(s.cpu)})`;
const docker = stats("docker");
const lines = [
  `${runs} runs each, interleaved; before = ${baseline} (sources), after = this tree (${bundled ? "bundle .build/cli" : "sources: no fresh bundle, run npm run build:cli"}); image ${image}`,
  `load average ${loadAtStart} at the start, ${load()} at the end`,
  "",
  "| command | before p50 / p90 (CPU) | after p50 / p90 (CPU) | goal | met |",
  "| --- | --- | --- | --- | --- |",
];
for (const c of commands) {
  const b = stats(`${c.id}:before`);
  const a = stats(`${c.id}:after`);
  lines.push(`| ${c.label} | ${cell(b)} | ${cell(a)} | faster than before | ${a.p50 < b.p50 ? "✓" : "✗"} |`);
}
lines.push(`| \`docker run --rm --network none … true\` | ${cell(docker)} | ${cell(docker)} | | |`);
const before50 = stats("sandbox:before").p50 - docker.p50;
const after50 = stats("sandbox:after").p50 - docker.p50;
lines.push(
  `| **sandbox exec adds** (p50 − docker run's p50) | ${fmt(before50)} | ${fmt(after50)} | ≤ ${goalMs} ms | ${after50 <= goalMs ? "✓" : "✗"} |`,
);
process.stdout.write(`${lines.join("\n")}\n`);
