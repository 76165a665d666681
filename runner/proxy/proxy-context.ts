import { Agent, type Dispatcher } from "undici";
import { Registry } from "prom-client";
import { createCallJournal, type CallJournal } from "./create-call-journal.ts";
import { createCallRecorder, type CallRecorder } from "./call-recorder.ts";
import { createWorkerCallRecorder } from "./create-worker-call-recorder.ts";
import { createRunTokenVerifier, type RunTokenVerifier } from "./create-run-token-verifier.ts";
import {
  compileRouting,
  defaultRouting,
  resolveUpstreams,
  type CompiledRoutingRule,
  type ResolvedUpstream,
} from "./choose-upstreams.ts";
import { createProxyMetrics, type ProxyMetrics } from "./create-proxy-metrics.ts";
import { defaultOutputCapPolicy } from "./policy/plan-output-cap.ts";
import { defaultPriceTable, type PriceTable } from "./price-table.ts";
import type { ProxyBudgetPolicy, ProxyDeps, ProxyTimeouts } from "./proxy-deps.ts";
import { createRunAdmission, type RunAdmission } from "./run-admission.ts";
import { createRunLedger, type RunLedger } from "./run-ledger.ts";
import type { RetryPolicy } from "./send-upstream.ts";

/** Everything a proxy step may use: the deps with their defaults filled in, and the shared parts built once. */
export interface ProxyContext {
  deps: ProxyDeps;
  now: () => number;
  prices: PriceTable;
  routing: readonly CompiledRoutingRule[];
  fallback: Readonly<Record<string, readonly string[]>>;
  retry: RetryPolicy;
  timeouts: ProxyTimeouts;
  budgetPolicy: ProxyBudgetPolicy;
  bodyLimit: number;
  auditLimit: number;
  upstreams: ReadonlyMap<string, ResolvedUpstream>;
  /** The operator's upstream keys: redacted from every answer and every stored row. */
  realKeys: string[];
  dispatcher: Dispatcher;
  /** True when the dispatcher was created here, so close() must close it. */
  ownsDispatcher: boolean;
  registry: Registry;
  metrics: ProxyMetrics;
  recorder: CallRecorder;
  /** Calls in flight, written before each is forwarded (absent without deps.callJournalDir). */
  journal: CallJournal | undefined;
  ledger: RunLedger;
  /** Per-run request slots and body bytes, claimed before a body is read. */
  admission: RunAdmission;
  /** Open connections per served proxy. */
  maxConnections: number;
  /** Checks run tokens against deps.tokenSecret, remembering the ones that verified. */
  verifyToken: RunTokenVerifier;
}

export function createProxyContext(deps: ProxyDeps): ProxyContext {
  const now = () => deps.clock?.now() ?? Date.now();
  const timeouts: ProxyTimeouts = {
    connectMs: 10_000,
    firstByteMs: 300_000,
    idleMs: 300_000,
    headersMs: 30_000,
    bodyMs: 120_000,
    bodyIdleMs: 15_000,
    keepAliveMs: 65_000,
    ...deps.timeouts,
  };
  const budgetPolicy: ProxyBudgetPolicy = {
    softThreshold: 0.8,
    hardCeilingRatio: 1.5,
    maxConcurrentPerRun: 256,
    ...defaultOutputCapPolicy,
    ...deps.budget,
  };
  const bodyLimit = deps.bodyLimitBytes ?? 32 * 1024 * 1024;
  const upstreams = resolveUpstreams(deps.upstreams);
  const dispatcher =
    deps.dispatcher ??
    new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connections: 1024,
      connect: { timeout: timeouts.connectMs },
    });
  const registry = deps.metrics ?? new Registry();
  const admission = createRunAdmission({
    maxConcurrentPerRun: budgetPolicy.maxConcurrentPerRun,
    maxBodyBytesPerRun: deps.maxBodyBytesPerRun ?? 32 * 1024 * 1024,
    maxBodyBytes: bodyLimit,
  });
  const journal = deps.callJournalDir ? createCallJournal({ dir: deps.callJournalDir }) : undefined;
  const onRowsDone = journal ? (keys: readonly string[]) => journal.settle(keys) : undefined;
  return {
    deps,
    now,
    prices: deps.prices ?? defaultPriceTable,
    routing: compileRouting(deps.routing ?? defaultRouting),
    fallback: deps.fallback ?? {},
    retry: { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 5_000, ...deps.retry },
    timeouts,
    budgetPolicy,
    bodyLimit,
    auditLimit: deps.auditBodyLimitBytes ?? 1024 * 1024,
    upstreams,
    realKeys: [...upstreams.values()].map((u) => u.apiKey).filter((k): k is string => Boolean(k)),
    dispatcher,
    ownsDispatcher: deps.dispatcher === undefined,
    registry,
    metrics: createProxyMetrics(registry, () => admission.totalBodyBytes(), deps.sharedMetrics),
    recorder: deps.recordInWorker
      ? createWorkerCallRecorder({
          databaseUrl: deps.recordInWorker.databaseUrl,
          logger: deps.logger,
          secret: deps.tokenSecret,
          onRowsDone,
        })
      : createCallRecorder({
          db: deps.db,
          logger: deps.logger,
          secret: deps.tokenSecret,
          onRowsDone,
        }),
    journal,
    ledger: createRunLedger({
      db: deps.db,
      now,
      cacheTtlMs: deps.runCacheTtlMs ?? 250,
      softThreshold: budgetPolicy.softThreshold,
      operatorModels: deps.allowedModels ?? [],
    }),
    admission,
    maxConnections: deps.maxConnections ?? 256,
    verifyToken: createRunTokenVerifier(deps.tokenSecret),
  };
}
