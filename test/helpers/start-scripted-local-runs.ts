import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "../../core/db/open-database.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import type { RunDeps } from "../../runner/run/run-deps.ts";
import { startTurnScriptedUpstream } from "../agents/start-turn-scripted-upstream.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { testDatabaseKinds } from "./test-databases.ts";

/** A tool call the scripted model answers with. */
export function scriptedCall(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

export type ScriptedMessage = {
  role: string;
  content: unknown;
  tool_calls?: { function: { name: string; arguments: string } }[];
};

export interface ScriptedLocalRuns {
  upstream: ScriptedUpstream;
  database: Database;
  dir: string;
  /** The scripted model's address (OpenAI-compatible, before `/v1`), for a child `airlock run`. */
  modelUrl: string;
  /** What a local run needs: real Docker and the first test database, the scripted model as OpenAI. */
  deps(overrides?: Partial<RunDeps>): RunDeps;
  /** The messages the model was sent for one turn's script (`name.<turn>`). */
  messagesOf(script: string): ScriptedMessage[];
  close(): Promise<void>;
}

/**
 * Local runs (recordAndRunLocalRun) of the builtin agent against the scripted upstream,
 * one script per turn of its conversation (startTurnScriptedUpstream): what the tests of
 * `airlock run`, grants and pause/resume share.
 */
export async function startScriptedLocalRuns(name: string, tokenSecret: string): Promise<ScriptedLocalRuns> {
  const logger = createLogger("silent");
  const runtime = createDockerContainerRuntime({ logger });
  const upstream = await startScriptedUpstream();
  const turns = await startTurnScriptedUpstream(upstream.url);
  const dir = await mkdtemp(join(tmpdir(), `airlock-${name}-`));
  const database = await testDatabaseKinds()[0]!.open();
  return {
    upstream,
    database,
    dir,
    modelUrl: turns.url,
    deps: (overrides = {}) => ({
      db: database.db,
      runtime,
      logger,
      tokenSecret,
      upstreams: { openai: { baseUrl: `${turns.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey } },
      dataDir: join(dir, "data"),
      ceiling: { memoryMb: 2048, cpus: 2, pids: 512, timeoutS: 300 },
      runnerId: `test-${name}-${process.pid}`,
      proxyRetry: { maxRetries: 0 },
      ...overrides,
    }),
    messagesOf(script) {
      const request = upstream.requests.find((r) => r.script === script);
      const messages = (request?.body as { messages?: ScriptedMessage[] } | undefined)?.messages;
      assert.ok(messages, `the model was never called for ${script}`);
      return messages;
    },
    async close() {
      await turns.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
      // Last: it throws when the upstream saw a request nobody expected.
      await upstream.close();
    },
  };
}
