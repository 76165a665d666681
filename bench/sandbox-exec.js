#!/usr/bin/env node
// Benchmark (not a test): what `airlock sandbox exec` adds over a bare `docker run`.
//
//   node bench/sandbox-exec.js [--runs 30] [--image airlock/base:<VERSION>]
//
// Runs `airlock sandbox exec -- true` (the CLI, exactly as a user starts it) and
// `docker run --rm --network none <same image> true`, interleaved (alternating which goes
// first) after two warm-up runs each, then prints p50/p90 of both and the difference.
// Goal (issue 2): Airlock adds at most 150 ms at p50. Run it on a quiet machine.
//
// A third row, `docker run` with Airlock's hardening spelled as docker flags (built from
// the same policy, runner/sandbox/build-sandbox-spec.ts), splits the difference into what
// the hardening costs the engine and what Airlock's own process costs.
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { dockerHardeningFlags } from "./docker-hardening-flags.ts";
import { readRunsAndImage } from "./sandbox-bench-options.ts";

const goalMs = 150;
const root = fileURLToPath(new URL("..", import.meta.url));

const { runs, image } = readRunsAndImage(30);

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
  {
    name: "docker run --rm <Airlock's hardening as flags> … true",
    cmd: "docker",
    args: ["run", "--rm", ...dockerHardeningFlags(image), image, "true"],
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
  // Rotate who goes first, so drift in the machine's load spreads over all rows.
  const order = contenders.map((_, k) => (k + i) % contenders.length);
  for (const index of order) samples[index].push(await timeOnce(contenders[index]));
  process.stderr.write(`\r${i + 1}/${runs}`);
}
process.stderr.write("\n");

const stats = samples.map((list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), min: sorted[0] };
});
const fmt = (ms) => `${Math.round(ms)} ms`;
const [airlock, docker, hardened] = stats;
const row = (label, a, b) =>
  `| ${label} | ${fmt(a.p50 - b.p50)} | ${fmt(a.p90 - b.p90)} | ${fmt(a.min - b.min)} |`;
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
  row("**Airlock adds** (row 1 − row 2)", airlock, docker),
  row("of which the hardening (row 3 − row 2)", hardened, docker),
  row("of which Airlock's process (row 1 − row 3)", airlock, hardened),
  "",
  `goal: Airlock adds ≤ ${goalMs} ms at p50 → ${airlock.p50 - docker.p50 <= goalMs ? "met" : "NOT met"}`,
];
process.stdout.write(`${lines.join("\n")}\n`);
