import { Agent, type Dispatcher } from "undici";
import { Registry } from "prom-client";
import { createCallRecorder, type CallRecorder } from "./call-recorder.ts";
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
  ledger: RunLedger;
}

export function createProxyContext(deps: ProxyDeps): ProxyContext {
  const now = () => deps.clock?.now() ?? Date.now();
  const timeouts: ProxyTimeouts = {
    connectMs: 10_000,
    firstByteMs: 300_000,
    idleMs: 300_000,
    ...deps.timeouts,
  };
  const budgetPolicy: ProxyBudgetPolicy = {
    softThreshold: 0.8,
    hardCeilingRatio: 1.5,
    maxConcurrentPerRun: 256,
    ...defaultOutputCapPolicy,
    ...deps.budget,
  };
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
  return {
    deps,
    now,
    prices: deps.prices ?? defaultPriceTable,
    routing: compileRouting(deps.routing ?? defaultRouting),
    fallback: deps.fallback ?? {},
    retry: { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 5_000, ...deps.retry },
    timeouts,
    budgetPolicy,
    bodyLimit: deps.bodyLimitBytes ?? 32 * 1024 * 1024,
    auditLimit: deps.auditBodyLimitBytes ?? 1024 * 1024,
    upstreams,
    realKeys: [...upstreams.values()].map((u) => u.apiKey).filter((k): k is string => Boolean(k)),
    dispatcher,
    ownsDispatcher: deps.dispatcher === undefined,
    registry,
    metrics: createProxyMetrics(registry),
    recorder: createCallRecorder({ db: deps.db, logger: deps.logger }),
    ledger: createRunLedger({
      db: deps.db,
      now,
      cacheTtlMs: deps.runCacheTtlMs ?? 250,
      softThreshold: budgetPolicy.softThreshold,
      maxConcurrentPerRun: budgetPolicy.maxConcurrentPerRun,
      operatorModels: deps.allowedModels ?? [],
    }),
  };
}
