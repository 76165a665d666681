import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The proxy's Prometheus metrics. Model labels come from the price table only (or
 * "unpriced"): a client choosing arbitrary model names must not be able to grow the
 * label set without bound.
 */
export interface ProxyMetrics {
  calls: Counter<"provider" | "model" | "status">;
  tokens: Counter<"provider" | "model" | "kind">;
  costUsd: Counter<"provider" | "model">;
  latency: Histogram<"provider" | "stream">;
  ttfb: Histogram<"provider" | "stream">;
  budgetRejections: Counter<"limit">;
  upstreamErrors: Counter<"provider" | "reason">;
  refusals: Counter<"reason">;
  connectionEvents: Counter<"event">;
  requestBodyBytes: Gauge;
  /** Capability requests answered (issue 10 §1), by kind and outcome (created, merged, decided, too_many, invalid). */
  capabilityRequests: Counter<"kind" | "outcome">;
}

/** `readRequestBodyBytes`: the body bytes in-flight requests hold now, all runs together. */
export function createProxyMetrics(registry: Registry, readRequestBodyBytes: () => number): ProxyMetrics {
  const registers = [registry];
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  return {
    calls: new Counter({
      name: "airlock_llm_calls_total",
      help: "LLM calls proxied, by provider, priced model and HTTP status",
      labelNames: ["provider", "model", "status"],
      registers,
    }),
    tokens: new Counter({
      name: "airlock_llm_tokens_total",
      help: "Tokens declared by upstream usage, by provider, priced model and kind (input, output, cache_creation, cache_read)",
      labelNames: ["provider", "model", "kind"],
      registers,
    }),
    costUsd: new Counter({
      name: "airlock_llm_cost_usd_total",
      help: "Cost in USD from the price table, by provider and priced model",
      labelNames: ["provider", "model"],
      registers,
    }),
    latency: new Histogram({
      name: "airlock_llm_proxy_latency_seconds",
      help: "Time from request received to response end",
      labelNames: ["provider", "stream"],
      buckets,
      registers,
    }),
    ttfb: new Histogram({
      name: "airlock_llm_proxy_ttfb_seconds",
      help: "Time from request received to the first response byte from upstream",
      labelNames: ["provider", "stream"],
      buckets,
      registers,
    }),
    budgetRejections: new Counter({
      name: "airlock_llm_budget_rejections_total",
      help: "Requests refused with 429 because a run's budget or concurrency limit was reached",
      labelNames: ["limit"],
      registers,
    }),
    upstreamErrors: new Counter({
      name: "airlock_llm_upstream_errors_total",
      help: "Upstream failures (HTTP 429/5xx, connection errors, timeouts), counted per attempt",
      labelNames: ["provider", "reason"],
      registers,
    }),
    refusals: new Counter({
      name: "airlock_llm_refusals_total",
      help: "Requests the proxy refused before forwarding (auth, bad request, database down)",
      labelNames: ["reason"],
      registers,
    }),
    connectionEvents: new Counter({
      name: "airlock_llm_proxy_connection_events_total",
      help: "Connections the proxy's server ended itself: dropped past maxConnections, header or request timeout, malformed request",
      labelNames: ["event"],
      registers,
    }),
    capabilityRequests: new Counter({
      name: "airlock_capability_requests_total",
      help: "Capability requests answered by the proxy, by kind and outcome (created, merged, decided, too_many, invalid)",
      labelNames: ["kind", "outcome"],
      registers,
    }),
    requestBodyBytes: new Gauge({
      name: "airlock_llm_proxy_request_body_bytes",
      help: "Bytes of request bodies claimed by requests in flight, all runs together (each run is bounded by its allowance)",
      registers,
      collect() {
        this.set(readRequestBodyBytes());
      },
    }),
  };
}
