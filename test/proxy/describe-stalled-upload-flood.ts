import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ensureRun } from "../../core/db/runs.ts";
import type { Database } from "../../core/db/open-database.ts";
import { newRunId } from "../../core/ids.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { serveProxyOnSocket, type ServedProxy } from "../../runner/proxy/serve-proxy.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { createCapturingLogger } from "../helpers/create-capturing-logger.ts";
import { postChatOverSocket } from "./post-chat-over-socket.ts";

// Issue 9 §4: "64 connections each started a 30 MiB upload, sent 24 MiB, and stalled. The
// proxy's RSS went from 546 to 1,968 MiB." On a run's socket that memory is the runner's,
// outside every container limit. Goal: < 100 MiB more, and other runs keep their latency.
const MiB = 1024 * 1024;
const tokenSecret = randomBytes(32).toString("hex");
const connections = 64;
const declaredBytes = 30 * MiB;
const sendBytes = 24 * MiB;
const rssGoalBytes = 100 * MiB;

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Sequential calls; their median latency. */
async function measureLatency(socketPath: string, token: string, calls: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    const { status } = await postChatOverSocket(socketPath, token, "quick");
    assert.equal(status, 200, "the other run's call is served");
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const kind = testDatabaseKinds().find((k) => k.name === "postgres" && !k.skip) ?? testDatabaseKinds()[0]!;

/**
 * One flood per test file: node --test runs each file in its own process, and a process's
 * RSS rarely shrinks, so a second flood in the same process would be measured against
 * memory the first one left mapped.
 */
export function describeStalledUploadFlood(mode: "declared" | "chunked"): void {
  const upload = mode === "declared" ? "declaring 30 MiB" : "chunked";
  describe(`a stalled-upload flood on one run's socket, ${upload}`, () => {
    let dir: string;
    let upstream: ScriptedUpstream;
    let database: Database;
    let flooded: ServedProxy;
    let other: ServedProxy;
    let flooder: ChildProcess | undefined;
    const runs = { flooded: { id: "", token: "", socket: "" }, other: { id: "", token: "", socket: "" } };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "airlock-flood-"));
      upstream = await startScriptedUpstream();
      upstream.define("quick", { chunks: 2, inputTokens: 10 });
      database = await kind.open();
      const { logger } = createCapturingLogger();
      for (const [name, run] of Object.entries(runs)) {
        run.id = newRunId();
        run.socket = join(dir, name, "llm.sock");
        await ensureRun(database.db, { id: run.id, kind: "manual", state: "running" });
        run.token = mintRunToken({
          runId: run.id,
          attempt: 0,
          expiresAt: Math.floor(Date.now() / 1000) + 600,
          secret: tokenSecret,
        });
      }
      // Two runs' sockets in one process, as the runner serves them.
      const serve = (run: { id: string; socket: string }) =>
        serveProxyOnSocket({
          socketPath: run.socket,
          runId: run.id,
          db: database.db,
          tokenSecret,
          upstreams: {
            openai: { baseUrl: `${upstream.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
          },
          // The stalls must last through the measurement: only the body allowance may bound them here.
          timeouts: { bodyIdleMs: 600_000, bodyMs: 600_000 },
          logger,
        });
      flooded = await serve(runs.flooded);
      other = await serve(runs.other);
    });

    after(async () => {
      if (flooder && flooder.exitCode === null) {
        const exited = once(flooder, "exit");
        flooder.stdin?.end();
        await exited;
      }
      await flooded?.close();
      await other?.close();
      await upstream?.close();
      await database?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it(
      "adds less than 100 MiB to the proxy's RSS, and another run's calls keep their latency",
      { timeout: 300_000 },
      async () => {
        // Warm both sockets and the code paths, then take the baseline.
        await measureLatency(runs.flooded.socket, runs.flooded.token, 5);
        const latencyBefore = await measureLatency(runs.other.socket, runs.other.token, 25);
        collectGarbage();
        const rssBefore = process.memoryUsage.rss();

        let rssPeak = rssBefore;
        const sampler = setInterval(() => {
          rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
        }, 20);
        try {
          const script = fileURLToPath(new URL("./stalled-upload-flooder.ts", import.meta.url));
          const args = [runs.flooded.socket, runs.flooded.token, connections, declaredBytes, sendBytes, mode];
          flooder = spawn(process.execPath, [script, ...args.map(String)], {
            stdio: ["pipe", "pipe", "inherit"],
          });
          const lines = createInterface({ input: flooder.stdout! });
          // The flooder reports once every upload is stalled (all its bytes taken) or refused.
          const [line] = (await Promise.race([
            once(lines, "line"),
            once(flooder, "exit").then(([code]) => assert.fail(`the flooder exited early (${String(code)})`)),
          ])) as [string];
          const flood = JSON.parse(line) as {
            fullySent: number;
            closed: number;
            statuses: Record<string, number>;
            sentMiB: number;
          };

          // Measure the other run while the uploads hang.
          const latencyDuring = await measureLatency(runs.other.socket, runs.other.token, 25);
          rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
          const figures = {
            mode,
            rssBeforeMiB: Math.round(rssBefore / MiB),
            rssPeakMiB: Math.round(rssPeak / MiB),
            latencyBeforeMs: Number(latencyBefore.toFixed(2)),
            latencyDuringMs: Number(latencyDuring.toFixed(2)),
            flood,
          };
          process.stderr.write(`stalled-upload flood: ${JSON.stringify(figures)}\n`);

          assert.ok(
            rssPeak - rssBefore < rssGoalBytes,
            `the flood added ${Math.round((rssPeak - rssBefore) / MiB)} MiB to the proxy's RSS (goal < 100 MiB)`,
          );
          // Generous for a loaded 2-core machine; a run stuck behind another run's flood waits seconds.
          assert.ok(
            latencyDuring < latencyBefore * 3 + 50,
            `the other run's median latency went from ${latencyBefore.toFixed(1)} ms to ${latencyDuring.toFixed(1)} ms`,
          );
          assert.ok(
            (flood.statuses["429"] ?? 0) > 0,
            "uploads past the run's body allowance are refused with 429",
          );
        } finally {
          clearInterval(sampler);
        }
      },
    );
  });
}
