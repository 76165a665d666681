import { sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { AirlockError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { NewLlmCall } from "../../core/db/schema.ts";
import { redactSecrets } from "./redact-secrets.ts";

/**
 * Writes llm_calls rows off the response path, in batches. A row is queued when its call
 * ends; `flush()` resolves once every row queued so far is committed, and the runner
 * awaits it before a run may finish (DESIGN §5: committed before the run can finish).
 * A failed write marks the recorder unhealthy (the handler then refuses new calls with
 * 503) and is retried with backoff: rows already queued are never dropped.
 */
export interface CallRecorder {
  /** Queue a row; bodies are redacted (with these literal secrets too) before insert. */
  record(row: NewLlmCall, secrets: readonly (string | undefined)[]): void;
  /** Track another write that must land before flush() resolves (e.g. a run event). */
  track(write: Promise<unknown>): void;
  readonly healthy: boolean;
  readonly queued: number;
  flush(timeoutMs?: number): Promise<void>;
  close(timeoutMs?: number): Promise<void>;
}

interface QueuedRow {
  row: NewLlmCall;
  secrets: readonly (string | undefined)[];
}

export interface CallRecorderOptions {
  db: Db;
  logger: Logger;
  batchSize?: number;
  maxRetryDelayMs?: number;
}

/**
 * The batch goes in as one JSON parameter: building a 200-row insert with the query
 * builder cost more CPU than the rest of the proxy's work per call (see the benchmark).
 */
const columns = [
  "run_id",
  "attempt",
  "provider",
  "model",
  "endpoint",
  "stream",
  "status",
  "error",
  "refusal",
  "started_at",
  "latency_ms",
  "ttfb_ms",
  "input_tokens",
  "output_tokens",
  "cache_creation_tokens",
  "cache_read_tokens",
  "cost_usd",
  "priced",
  "client_aborted",
  "upstream_attempts",
  "request_body",
  "response_body",
].join(", ");
const insertPrefix = sql.raw(
  `insert into llm_calls (${columns}) select ${columns} from json_populate_recordset(null::llm_calls,`,
);

/**
 * Postgres text cannot hold U+0000, and its JSON-to-text conversion refuses lone
 * surrogates (SQLSTATE 22P05). Both arrive from agents in malformed bodies; left as they
 * are, one such row would be refused forever. Keep the evidence, visibly escaped.
 */
export function toStorableText(text: string): string {
  return text.toWellFormed().replaceAll("\u0000", "\\u0000");
}

function toColumns(row: NewLlmCall, secrets: readonly (string | undefined)[]): Record<string, unknown> {
  const redact = (text: string | null | undefined) =>
    text == null ? null : toStorableText(redactSecrets(text, secrets));
  return {
    run_id: row.runId,
    attempt: row.attempt,
    provider: row.provider,
    model: row.model == null ? null : toStorableText(row.model),
    endpoint: toStorableText(row.endpoint),
    stream: row.stream ?? false,
    status: row.status,
    error: redact(row.error),
    refusal: row.refusal ?? null,
    started_at: row.startedAt.toISOString(),
    latency_ms: row.latencyMs,
    ttfb_ms: row.ttfbMs ?? null,
    input_tokens: row.inputTokens ?? 0,
    output_tokens: row.outputTokens ?? 0,
    cache_creation_tokens: row.cacheCreationTokens ?? 0,
    cache_read_tokens: row.cacheReadTokens ?? 0,
    cost_usd: row.costUsd ?? "0",
    priced: row.priced ?? true,
    client_aborted: row.clientAborted ?? false,
    upstream_attempts: row.upstreamAttempts ?? 1,
    request_body: redact(row.requestBody),
    response_body: redact(row.responseBody),
  };
}

/**
 * SQLSTATE class 23 (integrity: foreign key, not null…) or 22 (data exception: a value
 * the column cannot hold): the row itself is refused, and retrying will not help.
 */
function isIntegrityViolation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

export function createCallRecorder(options: CallRecorderOptions): CallRecorder {
  const batchSize = options.batchSize ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 2000;
  const queue: QueuedRow[] = [];
  const tracked = new Set<Promise<unknown>>();
  const waiters: { target: number; resolve: () => void }[] = [];
  let enqueued = 0;
  let written = 0;
  let writing = false;
  let healthy = true;
  let failures = 0;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  // After a batch is refused for its content, write that many rows one at a time so one
  // bad row (its run deleted meanwhile) cannot hold every other row back forever.
  let isolate = 0;

  function markWritten(count: number): void {
    written += count;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.target <= written) waiters.splice(i, 1)[0]!.resolve();
    }
  }

  function schedule(delayMs: number): void {
    if (writing || closed) return;
    writing = true;
    if (delayMs === 0) setImmediate(writeBatch);
    else retryTimer = setTimeout(writeBatch, delayMs);
  }

  function writeBatch(): void {
    retryTimer = undefined;
    const batch = queue.splice(0, isolate > 0 ? 1 : batchSize);
    if (batch.length === 0) {
      writing = false;
      return;
    }
    const rows = batch.map(({ row, secrets }) => toColumns(row, secrets));
    options.db.execute(sql`${insertPrefix} ${JSON.stringify(rows)}::json)`).then(
      () => {
        healthy = true;
        failures = 0;
        isolate = Math.max(0, isolate - batch.length);
        markWritten(batch.length);
        writing = false;
        if (queue.length > 0) schedule(0);
      },
      (error: unknown) => {
        if (isIntegrityViolation(error)) {
          writing = false;
          if (batch.length > 1) {
            queue.unshift(...batch);
            isolate = batch.length;
          } else {
            options.logger.error(
              { runId: batch[0]!.row.runId, err: { message: (error as Error).message } },
              "the database refused an llm_calls row for its content (was the run deleted?); row dropped",
            );
            isolate = Math.max(0, isolate - 1);
            markWritten(1);
          }
          if (queue.length > 0) schedule(0);
          return;
        }
        healthy = false;
        failures += 1;
        queue.unshift(...batch);
        options.logger.error(
          { err: { message: (error as Error).message }, rows: batch.length, failures },
          "llm_calls write failed; refusing new calls until the database answers",
        );
        writing = false;
        schedule(Math.min(maxRetryDelayMs, 50 * 2 ** Math.min(failures, 10)));
      },
    );
  }

  return {
    record(row, secrets) {
      queue.push({ row, secrets });
      enqueued += 1;
      schedule(0);
    },
    track(write) {
      const tracked_ = write.catch((error: unknown) => {
        options.logger.error({ err: { message: (error as Error).message } }, "proxy side write failed");
      });
      tracked.add(tracked_);
      void tracked_.finally(() => tracked.delete(tracked_));
    },
    get healthy() {
      return healthy;
    },
    get queued() {
      return queue.length;
    },
    async flush(timeoutMs = 30_000) {
      const target = enqueued;
      const rowsDone =
        written >= target
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiters.push({ target, resolve }));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AirlockError(
                "proxy_flush_timeout",
                `${target - written} LLM call rows could not be written to the database within ${timeoutMs} ms; check the database connection`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        await Promise.race([Promise.all([rowsDone, ...tracked]), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close(timeoutMs = 30_000) {
      try {
        await this.flush(timeoutMs);
      } finally {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
      }
    },
  };
}
