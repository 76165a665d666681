import { randomBytes } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { Registry } from "prom-client";
import type { Database } from "../../core/db/open-database.ts";
import type { LlmCall, NewRun } from "../../core/db/schema.ts";
import { ensureRun, listRunCalls } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import type { ProxyDeps } from "../../runner/proxy/create-proxy-handler.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { serveProxyOnPort, serveProxyOnSocket, type ServedProxy } from "../../runner/proxy/serve-proxy.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
  type ScriptedUpstreamOptions,
} from "../stand-ins/scripted-llm-upstream.ts";
import { createCapturingLogger } from "./create-capturing-logger.ts";
import type { TestDatabaseKind } from "./test-databases.ts";

export interface ProxyHarnessOptions {
  /** Shared with other harnesses, and left open by close(); by default the harness opens its own. */
  database?: Database;
  upstream?: ScriptedUpstreamOptions;
}

export interface NewHarnessRun {
  budgetUsd?: string;
  budgetTokens?: number;
  state?: "queued" | "running" | "succeeded";
  /** The token's lifetime. */
  ttlS?: number;
  /** More of the run's row, as the runner would record it (agent, model, repoConfig…). */
  fields?: Omit<Partial<NewRun>, "id" | "state" | "budgetUsd" | "budgetTokens">;
}

export interface ProxyHarness {
  upstream: ScriptedUpstream;
  database: Database;
  proxy: ServedProxy & { port: number };
  url: string;
  /** This harness's own random token secret, for tests that mint tokens or serve a second proxy. */
  tokenSecret: string;
  logLines: string[];
  registry: Registry;
  /** Record a run and mint a token for it; the SDK clients hold that token (retries off). */
  newRun(
    options?: NewHarnessRun,
  ): Promise<{ runId: string; token: string; openai: OpenAI; anthropic: Anthropic }>;
  openai(token: string, options?: { maxRetries?: number }): OpenAI;
  anthropic(token: string, options?: { maxRetries?: number }): Anthropic;
  /** Flush, then this run's llm_calls rows in order. */
  rows(runId: string): Promise<LlmCall[]>;
  /**
   * A second proxy serving one run on a unix socket, as the runner serves it: the same
   * database and secret, OpenAI to the same upstream, logs kept apart; the caller closes it.
   */
  serveOnSocket(
    socketPath: string,
    runId: string,
    deps?: Partial<Omit<ProxyDeps, "runId">>,
  ): Promise<ServedProxy>;
  close(): Promise<void>;
}

/**
 * The real proxy (serveProxyOnPort) on loopback, in front of the scripted upstream, with
 * llm_calls rows going to the given database and logs captured for the test to read.
 */
export async function startProxyHarness(
  kind: TestDatabaseKind,
  overrides: Partial<ProxyDeps> | ((upstream: ScriptedUpstream) => Partial<ProxyDeps>) = {},
  options: ProxyHarnessOptions = {},
): Promise<ProxyHarness> {
  const upstream = await startScriptedUpstream(options.upstream);
  const extra = typeof overrides === "function" ? overrides(upstream) : overrides;
  const db = options.database ?? (await kind.open());
  const tokenSecret = randomBytes(32).toString("hex");
  const { logger, lines } = createCapturingLogger();
  const registry = new Registry();
  const proxy = await serveProxyOnPort({
    port: 0,
    db: db.db,
    tokenSecret,
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
  const openai = (token: string, client: { maxRetries?: number; timeout?: number } = {}) =>
    new OpenAI({
      baseURL: `${url}/v1`,
      apiKey: token,
      maxRetries: client.maxRetries ?? 0,
      timeout: client.timeout,
    });
  const anthropic = (token: string, client: { maxRetries?: number; timeout?: number } = {}) =>
    new Anthropic({
      baseURL: url,
      apiKey: token,
      maxRetries: client.maxRetries ?? 0,
      timeout: client.timeout,
    });
  return {
    upstream,
    database: db,
    proxy,
    url,
    tokenSecret,
    logLines: lines,
    registry,
    async newRun(run = {}) {
      const runId = newRunId();
      await ensureRun(db.db, {
        kind: "manual",
        ...run.fields,
        id: runId,
        state: run.state ?? "running",
        budgetUsd: run.budgetUsd ?? null,
        budgetTokens: run.budgetTokens ?? null,
      });
      const token = mintRunToken({
        runId,
        attempt: 0,
        expiresAt: Math.floor(Date.now() / 1000) + (run.ttlS ?? 3600),
        secret: tokenSecret,
      });
      return {
        runId,
        token,
        openai: openai(token, { timeout: 30_000 }),
        anthropic: anthropic(token, { timeout: 30_000 }),
      };
    },
    openai,
    anthropic,
    async rows(runId) {
      await proxy.flush(10_000);
      return listRunCalls(db.db, runId);
    },
    serveOnSocket(socketPath, runId, deps = {}) {
      return serveProxyOnSocket({
        socketPath,
        runId,
        db: db.db,
        tokenSecret,
        upstreams: {
          openai: { baseUrl: `${upstream.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
        },
        logger: createCapturingLogger().logger,
        ...deps,
      });
    },
    async close() {
      try {
        await proxy.close();
      } finally {
        try {
          // Throws when the upstream saw a request nobody expected; the database is closed regardless.
          await upstream.close();
        } finally {
          if (!options.database) await db.close();
        }
      }
    },
  };
}
