import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The proxy's Prometheus metrics. Model labels come from the price table only (or
 * "unpriced"): a client choosing arbitrary model names must not be able to grow the
 * label set without bound.
 */
export interface ProxyMetrics extends SharedProxyMetrics {
  calls: Counter<"provider" | "model" | "status">;
  tokens: Counter<"provider" | "model" | "kind">;
  costUsd: Counter<"provider" | "model">;
  requestBodyBytes: Gauge;
}

/**
 * The metrics every proxy of one process may feed together: a runner serves one proxy per
 * run, each with a registry of its own, and hands them these so the runner's /metrics shows
 * latency, upstream errors, refusals and capability requests across its runs (issue 13 §3).
 * Calls, tokens and cost stay per proxy: the runner counts those from the stored rows when
 * a run ends (core/metrics), under the same names.
 */
export interface SharedProxyMetrics {
  latency: Histogram<"provider" | "stream">;
  ttfb: Histogram<"provider" | "stream">;
  /** From a request's arrival to its first upstream attempt: the latency the proxy adds. */
  overhead: Histogram<"provider">;
  budgetRejections: Counter<"limit">;
  upstreamErrors: Counter<"provider" | "reason">;
  refusals: Counter<"reason">;
  connectionEvents: Counter<"event">;
  /** Capability requests answered (issue 10 §1), by kind and outcome (created, merged, decided, too_many, invalid). */
  capabilityRequests: Counter<"kind" | "outcome">;
}

/** `readRequestBodyBytes`: the body bytes in-flight requests hold now, all runs together. */
export function createProxyMetrics(
  registry: Registry,
  readRequestBodyBytes: () => number,
  shared: SharedProxyMetrics = createSharedProxyMetrics(registry),
): ProxyMetrics {
  const registers = [registry];
  return {
    ...shared,
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

/** The metrics of SharedProxyMetrics, on `registry`: once per process, or once per proxy when not shared. */
export function createSharedProxyMetrics(registry: Registry): SharedProxyMetrics {
  const registers = [registry];
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  return {
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
    overhead: new Histogram({
      name: "airlock_llm_proxy_overhead_seconds",
      help: "Time from a request's arrival to its first upstream attempt (reading and checking the body, auth, budget, policy): the latency the proxy adds",
      labelNames: ["provider"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
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
  };
}
