import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { getAgent } from "../../core/agents/get-agent.ts";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { Database } from "../../core/db/open-database.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { pickSandboxTestImage } from "../sandbox/sandbox-test-image.ts";

// Issue 9 §4: "Give the workspace a per-run disk cap, AIRLOCK_MAX_DISK_MB: a run that fills
// it ends as disk_limit, and the host's disk is untouched." The agent below tries to write
// 1 GiB into a workspace capped at 64 MiB, then exits 0 as if nothing happened.
const MiB = 1024 * 1024;
const capMb = 64;
const attemptMb = 1024;

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const rootOnly = process.getuid?.() === 0 ? undefined : "the disk cap mounts a filesystem image: needs root";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-C", cwd, ...args], {
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  }).trim();
}

async function freeBytes(path: string): Promise<number> {
  const fs = await statfs(path);
  return fs.bavail * fs.bsize;
}

describe("the workspace disk cap (AIRLOCK_MAX_DISK_MB), with the real sandbox", { skip: rootOnly }, () => {
  let dir: string;
  let database: Database;
  const { image, init } = pickSandboxTestImage();
  const filler: AgentDefinition = {
    ...getAgent("builtin"),
    id: "disk-filler",
    command: [
      "sh",
      "-c",
      `dd if=/dev/zero of=/workspace/fill bs=1M count=${attemptMb} 2>/dev/null; echo "wrote $(wc -c < /workspace/fill) bytes"; exit 0`,
    ],
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-disk-cap-"));
    const kinds = testDatabaseKinds();
    database = await (kinds.find((k) => k.name === "postgres" && k.skip === undefined) ?? kinds[0]!).open();
  });
  after(async () => {
    await database?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    "a run that fills it ends as disk_limit, and the host's free space is untouched",
    { timeout: 300_000 },
    async () => {
      assert.equal(init, false, "the base image (with tini) is needed: airlock images build");
      const repo = join(dir, "repo");
      await mkdir(repo);
      git(repo, "init", "--quiet", "--initial-branch=main");
      await writeFile(join(repo, "README.md"), "# demo\n");
      git(repo, "add", "--all");
      git(repo, "commit", "--quiet", "-m", "base");
      const dataDir = join(dir, "data");
      await mkdir(dataDir);
      const imageId = execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", image], {
        encoding: "utf8",
      }).trim();

      // The lowest free space on the host's filesystem while the run lasts.
      const freeBefore = await freeBytes(dataDir);
      let freeLowest = freeBefore;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          freeLowest = Math.min(freeLowest, await freeBytes(dataDir));
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      })();
      const agentOutput: Buffer[] = [];
      let result: Awaited<ReturnType<typeof recordAndRunLocalRun>>;
      try {
        result = await recordAndRunLocalRun(
          {
            db: database.db,
            runtime,
            logger,
            tokenSecret: "test-token-secret-disk-cap-0123456789abcdef",
            upstreams: {},
            dataDir,
            ceiling: { memoryMb: 512, cpus: 1, pids: 128, timeoutS: 120 },
            maxDiskMb: capMb,
            runnerId: `test-disk-cap-${process.pid}`,
            catalog: [filler],
            ensureImage: () => Promise.resolve({ ref: image, id: imageId }),
            agentStdout: new Writable({
              write(chunk: Buffer, _encoding, callback) {
                agentOutput.push(chunk);
                callback();
              },
            }),
          },
          { repo, agent: filler.id, prompt: "fill the disk" },
        );
      } finally {
        sampling = false;
        await sampler;
      }
      const said = Buffer.concat(agentOutput).toString("utf8");
      const wrote = Number(/wrote (\d+) bytes/.exec(said)?.[1] ?? NaN);
      const hostDropMiB = Math.round((freeBefore - freeLowest) / MiB);
      process.stderr.write(
        `disk cap: agent wrote ${Math.round(wrote / MiB)} MiB of ${attemptMb} MiB; host free space fell by at most ${hostDropMiB} MiB\n`,
      );

      assert.equal(result.outcome, "disk_limit", result.reason);
      assert.match(result.reason, /filled its disk cap of 64 MiB \(AIRLOCK_MAX_DISK_MB\)/);
      assert.ok(
        wrote > 0 && wrote <= capMb * MiB,
        `the agent wrote ${wrote} bytes into a ${capMb} MiB workspace`,
      );
      // Other processes share this disk: allow them a margin, far below the 1 GiB attempted.
      assert.ok(hostDropMiB < capMb + 200, `the host's free space fell by ${hostDropMiB} MiB`);
      // The filesystem is unmounted and its image removed with the run folder.
      const mounts = await readFile("/proc/mounts", "utf8");
      assert.ok(!mounts.includes(dataDir), "no mount is left under the data folder");
    },
  );
});
