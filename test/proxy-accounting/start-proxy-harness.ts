import { randomBytes } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import pino from "pino";
import { ensureRun } from "../../core/db/runs.ts";
import type { Database } from "../../core/db/open-database.ts";
import { newRunId } from "../../core/ids.ts";
import type { ProxyDeps } from "../../runner/proxy/create-proxy-handler.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { serveProxyOnPort } from "../../runner/proxy/serve-proxy.ts";
import type { TestDatabaseKind } from "../helpers/test-databases.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
  type ScriptedUpstreamOptions,
} from "../stand-ins/scripted-llm-upstream.ts";

export interface ProxyHarness {
  database: Database;
  upstream: ScriptedUpstream;
  proxyUrl: string;
  served: Awaited<ReturnType<typeof serveProxyOnPort>>;
  /** Create a run (with budgets) and an SDK pair holding its token. */
  newRun(budget?: { usd?: string; tokens?: number }): Promise<{
    runId: string;
    token: string;
    openai: OpenAI;
    anthropic: Anthropic;
  }>;
  close(): Promise<void>;
}

/**
 * The real proxy (serveProxyOnPort) on loopback, in front of the scripted upstream, with
 * audit rows going to the given database. Clients are the official SDKs with retries off,
 * so every request a test makes is exactly one proxied call.
 */
export async function startProxyHarness(
  kind: TestDatabaseKind,
  options: { upstream?: ScriptedUpstreamOptions; proxy?: Partial<ProxyDeps> } = {},
): Promise<ProxyHarness> {
  const database = await kind.open();
  const upstream = await startScriptedUpstream(options.upstream);
  const tokenSecret = randomBytes(32).toString("hex");
  const served = await serveProxyOnPort({
    port: 0,
    db: database.db,
    tokenSecret,
    upstreams: {
      openai: { baseUrl: `${upstream.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
      anthropic: { baseUrl: upstream.url, apiKey: scriptedUpstreamDefaults.anthropicApiKey },
    },
    logger: pino({ level: "silent" }),
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    ...options.proxy,
  });
  const proxyUrl = `http://127.0.0.1:${served.port}`;
  return {
    database,
    upstream,
    proxyUrl,
    served,
    async newRun(budget = {}) {
      const runId = newRunId();
      await ensureRun(database.db, {
        id: runId,
        kind: "manual",
        budgetUsd: budget.usd,
        budgetTokens: budget.tokens,
      });
      const token = mintRunToken({
        runId,
        attempt: 0,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
        secret: tokenSecret,
      });
      return {
        runId,
        token,
        openai: new OpenAI({ baseURL: `${proxyUrl}/v1`, apiKey: token, maxRetries: 0, timeout: 30_000 }),
        anthropic: new Anthropic({ baseURL: proxyUrl, apiKey: token, maxRetries: 0, timeout: 30_000 }),
      };
    },
    async close() {
      try {
        await served.close();
      } finally {
        try {
          // Throws when the upstream saw a request nobody expected; the database is closed regardless.
          await upstream.close();
        } finally {
          await database.close();
        }
      }
    },
  };
}

/** Run `tasks` with at most `limit` in flight. */
export async function runBounded<T>(
  count: number,
  limit: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, () => worker()));
  return results;
}
