import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { runStates } from "../run-states.ts";
import type { StoredFigures } from "./read-stored-figures.ts";

export interface AirlockMetrics {
  registry: Registry;
  webhooks: Counter<"event">;
  runsFinished: Counter<"agent" | "outcome">;
  runDuration: Histogram<"agent" | "outcome">;
  queueWait: Histogram;
  runsActive: Gauge;
  llmCalls: Counter<"provider" | "model">;
  llmTokens: Counter<"provider" | "model" | "direction">;
  llmCostUsd: Counter<"provider" | "model">;
  refusals: Counter<"outcome">;
  /** LLM cost and tokens of finished runs per repository (the dashboard's per-repository panel). */
  repoLlmCostUsd: Counter<"repo">;
  repoLlmTokens: Counter<"repo" | "direction">;
  /** Each phase of each run segment (issue 15; core/run-phases.ts), observed by the runner that did it. */
  runPhase: Histogram<"phase" | "agent">;
  /** From a sandbox's create call to its start returning (runner). */
  sandboxStart: Histogram;
  /** Runs claimed again after their runner's lease lapsed mid-run (runner). */
  leaseTakeovers: Counter;
  /** From the database at each scrape (readStoredFigures): runs by state, the queue, capability requests. */
  runs: Gauge<"state">;
  queueDepth: Gauge;
  capabilityRequests: Gauge<"kind" | "decision">;
}

export interface AirlockMetricsOptions {
  /** Read at each scrape for the database gauges; without it they stay empty. */
  readStoredFigures?: (() => Promise<StoredFigures>) | undefined;
  /** A scrape whose database read failed: the gauges are left empty rather than stale. */
  onStoredFiguresError?: ((error: unknown) => void) | undefined;
}

/** One registry per process (DESIGN §9), served at /metrics by `airlock app`, `runner` and `up`. */
export function createAirlockMetrics(options: AirlockMetricsOptions = {}): AirlockMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // The three database gauges are collected together in one scrape: one read, shared.
  let reading: Promise<StoredFigures | undefined> | undefined;
  const read = (): Promise<StoredFigures | undefined> => {
    const reader = options.readStoredFigures;
    if (reader === undefined) return Promise.resolve(undefined);
    reading ??= reader()
      .catch((error: unknown) => {
        options.onStoredFiguresError?.(error);
        return undefined;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
  return {
    registry,
    webhooks: new Counter({
      name: "airlock_webhooks_total",
      help: "Webhook deliveries received, by event",
      labelNames: ["event"],
      registers,
    }),
    runsFinished: new Counter({
      name: "airlock_runs_finished_total",
      help: "Runs ended, by agent and outcome",
      labelNames: ["agent", "outcome"],
      registers,
    }),
    runDuration: new Histogram({
      name: "airlock_run_duration_seconds",
      help: "From a run's record to its end",
      labelNames: ["agent", "outcome"],
      buckets: [10, 30, 60, 120, 300, 600, 1200, 3600],
      registers,
    }),
    queueWait: new Histogram({
      name: "airlock_queue_wait_seconds",
      help: "From a run's record to its first claim",
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    runsActive: new Gauge({ name: "airlock_runs_active", help: "Runs this process works on now", registers }),
    llmCalls: new Counter({
      name: "airlock_llm_calls_total",
      help: "LLM calls of finished runs",
      labelNames: ["provider", "model"],
      registers,
    }),
    llmTokens: new Counter({
      name: "airlock_llm_tokens_total",
      help: "LLM tokens of finished runs",
      labelNames: ["provider", "model", "direction"],
      registers,
    }),
    llmCostUsd: new Counter({
      name: "airlock_llm_cost_usd_total",
      help: "LLM cost of finished runs, in US dollars",
      labelNames: ["provider", "model"],
      registers,
    }),
    refusals: new Counter({
      name: "airlock_refusals_total",
      help: "Replies anyone can ask for (refusals, help), by outcome: posted, duplicate (one per sender and issue in the window), dropped (over the rate), failed",
      labelNames: ["outcome"],
      registers,
    }),
    repoLlmCostUsd: new Counter({
      name: "airlock_repo_llm_cost_usd_total",
      help: "LLM cost of finished runs in US dollars, by repository",
      labelNames: ["repo"],
      registers,
    }),
    repoLlmTokens: new Counter({
      name: "airlock_repo_llm_tokens_total",
      help: "LLM tokens of finished runs, by repository and direction (in, out)",
      labelNames: ["repo", "direction"],
      registers,
    }),
    runPhase: new Histogram({
      name: "airlock_run_phase_seconds",
      help: "Where a run's time goes, per segment: queued, prepare, image, container_start, agent, relay, push, publish (the wait for capability decisions is not a phase)",
      labelNames: ["phase", "agent"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers,
    }),
    sandboxStart: new Histogram({
      name: "airlock_sandbox_start_seconds",
      help: "From a sandbox container's creation to its start",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    leaseTakeovers: new Counter({
      name: "airlock_lease_takeovers_total",
      help: "Runs this runner claimed after another runner's lease on them lapsed mid-run (that runner died)",
      registers,
    }),
    runs: new Gauge({
      name: "airlock_runs",
      help: "Runs in the database, by state",
      labelNames: ["state"],
      registers,
      async collect() {
        const figures = await read();
        this.reset();
        if (figures === undefined) return;
        for (const state of runStates) this.set({ state }, 0);
        for (const row of figures.runsByState) this.set({ state: row.state }, row.runs);
      },
    }),
    queueDepth: new Gauge({
      name: "airlock_queue_depth",
      help: "Runs waiting for a runner: queued, left by a runner that died, or finished but not yet on GitHub",
      registers,
      async collect() {
        const figures = await read();
        this.reset();
        if (figures !== undefined) this.set(figures.queueDepth);
      },
    }),
    capabilityRequests: new Gauge({
      name: "airlock_capability_requests_by_decision",
      help: "Capability requests in the database, by kind and decision (pending, granted, denied, failed, timed_out)",
      labelNames: ["kind", "decision"],
      registers,
      async collect() {
        const figures = await read();
        this.reset();
        for (const row of figures?.capabilityRequests ?? []) {
          this.set({ kind: row.kind, decision: row.state }, row.requests);
        }
      },
    }),
  };
}
