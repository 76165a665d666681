// Benchmark (not a test): the runner's sandbox start, paid inside its long-lived process,
// against `docker run`'s own engine time (issue 15: "within 50 ms").
//
//   node bench/sandbox-in-process.ts [--runs 20] [--image airlock/base:<VERSION>]
//
// One Node process (this one) loads the runner's code once, then runs `true` in the hardened
// sandbox N times with runner/sandbox/run-sandboxed.ts through the runner's Docker adapter
// (runner/container/docker-container-runtime.ts): create, attach, start, wait, the exit's
// check, remove. Each is timed from the call to its promise settling.
//
// `docker run`'s engine time is what `docker run --rm --network none <image> true` spends
// beyond the docker CLI's own start: its wall time less that of `docker version` (the same
// CLI starting, reading its config and making one trivial engine call). Both are timed, and
// `docker run` with Airlock's hardening as flags beside them (the same engine work as the
// in-process sandbox, started by the docker CLI). All rows interleaved, the order rotating
// each round, after two warm-up runs each. Goal: in-process p50 ≤ engine time p50 + 50 ms.
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { createLogger } from "../core/logger.ts";
import { loadSettings } from "../core/settings/load-settings.ts";
import type { ContainerRuntime } from "../runner/container/container-runtime.ts";
import { createDockerContainerRuntime } from "../runner/container/docker-container-runtime.ts";
import { runSandboxed } from "../runner/sandbox/run-sandboxed.ts";
import { dockerHardeningFlags } from "./docker-hardening-flags.ts";
import { readRunsAndImage } from "./sandbox-bench-options.ts";

const goalMs = 50;

const { runs, image } = readRunsAndImage(20);

const logger = createLogger("silent");
const ceiling = loadSettings({}).sandboxCeiling;
const callTimes = new Map<string, number[]>();
const runtime = timeEachCall(createDockerContainerRuntime({ logger }));

/** The runtime, recording how long each engine call took (per operation, this run only). */
function timeEachCall(inner: ContainerRuntime): ContainerRuntime {
  const timed = { ...inner };
  for (const op of [
    "createContainer",
    "attachContainer",
    "startContainer",
    "waitContainer",
    "inspectContainer",
    "removeContainer",
  ] as const) {
    const call = inner[op] as (...args: unknown[]) => Promise<unknown>;
    (timed as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      const began = performance.now();
      try {
        return await call(...args);
      } finally {
        const list = callTimes.get(op) ?? [];
        list.push(performance.now() - began);
        callTimes.set(op, list);
      }
    };
  }
  return timed;
}

async function sandboxInProcess(): Promise<number> {
  const began = performance.now();
  const result = await runSandboxed({
    runtime,
    logger,
    image,
    argv: ["true"],
    ceiling,
    runId: `bench-${process.pid}`,
    runnerId: `bench-sandbox-in-process-${process.pid}`,
  });
  if (result.reason !== "exited" || result.exitCode !== 0) {
    throw new Error(`the sandbox ended ${result.reason} (${result.exitCode})`);
  }
  return performance.now() - began;
}

function timeCommand(args: string[]): () => Promise<number> {
  return () =>
    new Promise((resolve, reject) => {
      const began = performance.now();
      const child = spawn("docker", args, { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code !== 0) reject(new Error(`docker ${args.join(" ")} exited ${code}: ${stderr.trim()}`));
        else resolve(performance.now() - began);
      });
    });
}

const contenders: { name: string; time: () => Promise<number> }[] = [
  { name: "in-process sandbox `true` (runSandboxed)", time: sandboxInProcess },
  {
    name: "`docker run --rm --network none … true`",
    time: timeCommand(["run", "--rm", "--network", "none", image, "true"]),
  },
  {
    name: "`docker run --rm <Airlock's hardening as flags> … true`",
    time: timeCommand(["run", "--rm", ...dockerHardeningFlags(image), image, "true"]),
  },
  {
    name: "`docker version` (the docker CLI's own start + one engine call)",
    time: timeCommand(["version", "--format", "{{.Server.Version}}"]),
  },
];

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const loadAtStart = load();
for (const contender of contenders) for (let i = 0; i < 2; i += 1) await contender.time();
callTimes.clear();
const samples = contenders.map((): number[] => []);
for (let i = 0; i < runs; i += 1) {
  for (let k = 0; k < contenders.length; k += 1) {
    const index = (k + i) % contenders.length;
    samples[index]!.push(await contenders[index]!.time());
  }
  process.stderr.write(`\r${i + 1}/${runs}`);
}
process.stderr.write("\n");

function percentile(list: number[], p: number): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}
const fmt = (ms: number) => `${Math.round(ms)} ms`;
const p50 = samples.map((list) => percentile(list, 50));
const [inProcess, dockerRun, hardened, dockerVersion] = p50 as [number, number, number, number];
const engine = dockerRun - dockerVersion;
const engineHardened = hardened - dockerVersion;
const lines = [
  `image ${image}, ${runs} runs each, interleaved; load average ${loadAtStart} at the start, ${load()} at the end`,
  "",
  "| row | p50 | p90 |",
  "| --- | ---: | ---: |",
  ...contenders.map((c, i) => `| ${c.name} | ${fmt(p50[i]!)} | ${fmt(percentile(samples[i]!, 90))} |`),
  `| docker run's engine time (row 2 − row 4) | ${fmt(engine)} | |`,
  `| the same with the hardening (row 3 − row 4) | ${fmt(engineHardened)} | |`,
  `| **in-process − docker run's engine time** | **${fmt(inProcess - engine)}** | |`,
  `| in-process − the hardened engine time | ${fmt(inProcess - engineHardened)} | |`,
  "",
  "in-process engine calls, p50: " +
    [...callTimes]
      .map(([op, list]) => `${op.replace("Container", "")} ${fmt(percentile(list, 50))}`)
      .join(", "),
  "",
  `goal: in-process within ${goalMs} ms of docker run's engine time at p50 → ${inProcess - engine <= goalMs ? "met" : "NOT met"} (${fmt(inProcess - engine)})`,
];
process.stdout.write(`${lines.join("\n")}\n`);
