import { Writable } from "node:stream";
import { eq, asc } from "drizzle-orm";
import pino from "pino";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Registry } from "prom-client";
import type { Database } from "../../core/db/open-database.ts";
import { llmCalls, type LlmCall } from "../../core/db/schema.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { redactPaths, type Logger } from "../../core/logger.ts";
import type { ProxyDeps } from "../../runner/proxy/create-proxy-handler.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { serveProxyOnPort, type ServedProxy } from "../../runner/proxy/serve-proxy.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import type { TestDatabaseKind } from "../helpers/test-databases.ts";

export const testTokenSecret = "test-token-secret-0123456789abcdef0123456789";

/** A logger whose JSON lines the test can read (to prove no secret reaches a log). */
export function createCapturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = pino({ level: "debug", redact: { paths: redactPaths, censor: "[redacted]" } }, stream);
  return { logger, lines };
}

export interface ProxyHarness {
  upstream: ScriptedUpstream;
  database: Database;
  proxy: ServedProxy & { port: number };
  url: string;
  logLines: string[];
  registry: Registry;
  /** Record a run and mint a token for it. */
  newRun(options?: {
    budgetUsd?: string;
    budgetTokens?: number;
    state?: "queued" | "running" | "succeeded";
    ttlS?: number;
  }): Promise<{ runId: string; token: string }>;
  openai(token: string, options?: { maxRetries?: number }): OpenAI;
  anthropic(token: string, options?: { maxRetries?: number }): Anthropic;
  /** Flush, then this run's llm_calls rows in order. */
  rows(runId: string): Promise<LlmCall[]>;
  close(): Promise<void>;
}

export async function startProxyHarness(
  kind: TestDatabaseKind,
  overrides: Partial<ProxyDeps> | ((upstream: ScriptedUpstream) => Partial<ProxyDeps>) = {},
  database?: Database,
): Promise<ProxyHarness> {
  const upstream = await startScriptedUpstream();
  const extra = typeof overrides === "function" ? overrides(upstream) : overrides;
  const db = database ?? (await kind.open());
  const { logger, lines } = createCapturingLogger();
  const registry = new Registry();
  const proxy = await serveProxyOnPort({
    port: 0,
    db: db.db,
    tokenSecret: testTokenSecret,
    upstreams: {
      openai: { baseUrl: `${upstream.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
      anthropic: { baseUrl: upstream.url, apiKey: scriptedUpstreamDefaults.anthropicApiKey },
    },
    retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 200 },
    logger,
    metrics: registry,
    ...extra,
  });
  const url = `http://127.0.0.1:${proxy.port}`;
  return {
    upstream,
    database: db,
    proxy,
    url,
    logLines: lines,
    registry,
    async newRun(options = {}) {
      const runId = newRunId();
      await ensureRun(db.db, {
        id: runId,
        kind: "manual",
        state: options.state ?? "running",
        budgetUsd: options.budgetUsd ?? null,
        budgetTokens: options.budgetTokens ?? null,
      });
      const token = mintRunToken({
        runId,
        attempt: 0,
        expiresAt: Math.floor(Date.now() / 1000) + (options.ttlS ?? 600),
        secret: testTokenSecret,
      });
      return { runId, token };
    },
    openai(token, options = {}) {
      return new OpenAI({ baseURL: `${url}/v1`, apiKey: token, maxRetries: options.maxRetries ?? 0 });
    },
    anthropic(token, options = {}) {
      return new Anthropic({ baseURL: url, apiKey: token, maxRetries: options.maxRetries ?? 0 });
    },
    async rows(runId) {
      await proxy.flush(10_000);
      return db.db.select().from(llmCalls).where(eq(llmCalls.runId, runId)).orderBy(asc(llmCalls.id));
    },
    async close() {
      await proxy.close();
      try {
        // Throws when the upstream saw a request nobody expected; the database is closed regardless.
        await upstream.close();
      } finally {
        if (!database) await db.close();
      }
    },
  };
}
