import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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
}

/** One registry per process (DESIGN §9), served at /metrics by `airlock app`, `runner` and `up`. */
export function createAirlockMetrics(): AirlockMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
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
  };
}
