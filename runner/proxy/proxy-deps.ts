import type { Dispatcher } from "undici";
import type { Registry } from "prom-client";
import type { Db } from "../../core/db/open-database.ts";
import type { Logger } from "../../core/logger.ts";
import type { ProxyUpstreams, RoutingRule } from "./choose-upstreams.ts";
import type { SharedProxyMetrics } from "./create-proxy-metrics.ts";
import type { PriceTable } from "./price-table.ts";
import type { RetryPolicy } from "./send-upstream.ts";

export interface ProxyTimeouts {
  connectMs: number;
  /** Upstream silence allowed before the response headers; retried like a 5xx. */
  firstByteMs: number;
  /** Upstream silence allowed between body chunks once the response has started. */
  idleMs: number;
  /** A client's time to send its request headers; a connection that sends nothing is closed after it too. */
  headersMs: number;
  /** A client's time to send a whole request body; a stalled upload is answered 408 and ended. */
  bodyMs: number;
  /** Client silence allowed between request body chunks. */
  bodyIdleMs: number;
  /** How long an idle keep-alive connection is kept open between requests. */
  keepAliveMs: number;
}

export interface ProxyBudgetPolicy {
  /** Fraction of a budget at which a `budget.soft_threshold` run event is recorded once. */
  softThreshold: number;
  /** A running stream is cut only when its declared usage takes the run past budget × this. */
  hardCeilingRatio: number;
  /** Requests of one run in flight at once; more get 429. */
  maxConcurrentPerRun: number;
  /** Output cap injected into a call that names none (max_tokens / max_completion_tokens / max_output_tokens). */
  defaultMaxOutputTokens: number;
  /** Input upper bound: one token per this many body bytes (see policy/plan-output-cap.ts). */
  inputBytesPerToken: number;
  /** Input upper bound: tokens added for each image or document part. */
  tokensPerMediaPart: number;
}

export interface ProxyDeps {
  db: Db;
  /**
   * Record calls in a worker thread with its own connection to this Postgres (the same
   * database as `db`), off the request path (issue 9 §8). Absent: in this thread, through `db`.
   */
  recordInWorker?: { databaseUrl: string };
  tokenSecret: string;
  /**
   * Where this proxy's journal of calls in flight lives (`<dataDir>/call-journal`; never
   * a run's workspace or anything mounted into a container). Absent: no journal, and a
   * call in flight when the process is killed stays off the record (create-call-journal.ts).
   */
  callJournalDir?: string | undefined;
  upstreams: ProxyUpstreams;
  /** Model → upstream; defaults to claude-* → anthropic, everything else → openai. */
  routing?: readonly RoutingRule[];
  /** Upstream name → upstreams to try, in order, when it fails (same wire format only). */
  fallback?: Readonly<Record<string, readonly string[]>>;
  /** The operator's AIRLOCK_ALLOWED_MODELS: models every run may call besides its own (issue 9 §2). */
  allowedModels?: readonly string[];
  /** Full price table (defaultPriceTable merged with the operator's file, by the entry point). */
  prices?: PriceTable;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<ProxyTimeouts>;
  budget?: Partial<ProxyBudgetPolicy>;
  /** Largest request body accepted (bytes); larger gets 413. */
  bodyLimitBytes?: number;
  /**
   * Bytes of request bodies one run's in-flight requests may hold together (default 32 MiB).
   * Claimed before a body is read; past it a request gets 429 (413 when it alone is larger).
   */
  maxBodyBytesPerRun?: number;
  /** Open connections per served proxy (socket or port); more are closed at once (default 256). */
  maxConnections?: number;
  /** Largest request or response body stored in llm_calls (bytes); the rest is cut with a marker. */
  auditBodyLimitBytes?: number;
  /** How long a run's state and budget are trusted before being re-read; also how long a healthy database is assumed. */
  runCacheTtlMs?: number;
  logger: Logger;
  metrics?: Registry;
  /** The process's shared proxy metrics (a runner's, across its runs); default: on `metrics`, this proxy's own. */
  sharedMetrics?: SharedProxyMetrics | undefined;
  clock?: { now(): number };
  /** Pending capability requests one run may hold (POST /airlock/v1/capabilities); more get 429 (default 10). */
  maxPendingCapabilities?: number;
  /** When set, only tokens naming this run are accepted (the per-run socket). */
  runId?: string;
  /** Upstream connection pool; one is created (and closed by close()) when absent. */
  dispatcher?: Dispatcher;
}
