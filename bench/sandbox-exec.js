#!/usr/bin/env node
// Benchmark (not a test): what `airlock sandbox exec` adds over a bare `docker run`.
//
//   node bench/sandbox-exec.js [--runs 30] [--image airlock/base:<VERSION>]
//
// Runs `airlock sandbox exec -- true` (the CLI, exactly as a user starts it) and
// `docker run --rm --network none <same image> true`, interleaved (alternating which goes
// first) after two warm-up runs each, then prints p50/p90 of both and the difference.
// Goal (issue 2): Airlock adds at most 150 ms at p50. Run it on a quiet machine.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const goalMs = 150;
const root = fileURLToPath(new URL("..", import.meta.url));

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

const runs = Number(option("--runs", "30"));
const image = option(
  "--image",
  `airlock/base:${readFileSync(new URL("../agent-images/base/VERSION", import.meta.url), "utf8").trim()}`,
);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write("--runs must be a positive integer\n");
  process.exit(2);
}

const contenders = [
  {
    name: "airlock sandbox exec -- true",
    cmd: process.execPath,
    args: [`${root}bin/airlock.js`, "sandbox", "exec", "--image", image, "--", "true"],
  },
  {
    name: "docker run --rm --network none … true",
    cmd: "docker",
    args: ["run", "--rm", "--network", "none", image, "true"],
  },
];

function timeOnce({ cmd, args, name }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`${name} exited ${code}: ${stderr.trim()}`));
      else resolve(ms);
    });
  });
}

function percentile(sorted, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const samples = contenders.map(() => []);
for (const contender of contenders) {
  for (let i = 0; i < 2; i += 1) await timeOnce(contender);
}
for (let i = 0; i < runs; i += 1) {
  const order = i % 2 === 0 ? [0, 1] : [1, 0];
  for (const index of order) samples[index].push(await timeOnce(contenders[index]));
  process.stderr.write(`\r${i + 1}/${runs}`);
}
process.stderr.write("\n");

const stats = samples.map((list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), min: sorted[0] };
});
const fmt = (ms) => `${Math.round(ms)} ms`;
const [airlock, docker] = stats;
const lines = [
  `image ${image}, ${runs} runs each, interleaved; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
  "",
  "| command | p50 | p90 | min |",
  "| --- | ---: | ---: | ---: |",
  ...contenders.map(
    (c, i) => `| \`${c.name}\` | ${fmt(stats[i].p50)} | ${fmt(stats[i].p90)} | ${fmt(stats[i].min)} |`,
  ),
  `| **difference** | **${fmt(airlock.p50 - docker.p50)}** | ${fmt(airlock.p90 - docker.p90)} | ${fmt(airlock.min - docker.min)} |`,
  "",
  `goal: Airlock adds ≤ ${goalMs} ms at p50 → ${airlock.p50 - docker.p50 <= goalMs ? "met" : "NOT met"}`,
];
process.stdout.write(`${lines.join("\n")}\n`);
