import type { Db } from "../../core/db/open-database.ts";
import { AirlockError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { llmCalls, type NewLlmCall } from "../../core/db/schema.ts";
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

  function schedule(delayMs: number): void {
    if (writing || closed) return;
    writing = true;
    if (delayMs === 0) setImmediate(writeBatch);
    else retryTimer = setTimeout(writeBatch, delayMs);
  }

  function writeBatch(): void {
    retryTimer = undefined;
    const batch = queue.splice(0, batchSize);
    if (batch.length === 0) {
      writing = false;
      return;
    }
    const rows = batch.map(({ row, secrets }) => ({
      ...row,
      requestBody: row.requestBody == null ? row.requestBody : redactSecrets(row.requestBody, secrets),
      responseBody: row.responseBody == null ? row.responseBody : redactSecrets(row.responseBody, secrets),
      error: row.error == null ? row.error : redactSecrets(row.error, secrets),
    }));
    options.db
      .insert(llmCalls)
      .values(rows)
      .then(
        () => {
          healthy = true;
          failures = 0;
          written += batch.length;
          for (let i = waiters.length - 1; i >= 0; i--) {
            if (waiters[i]!.target <= written) waiters.splice(i, 1)[0]!.resolve();
          }
          writing = false;
          if (queue.length > 0) schedule(0);
        },
        (error: unknown) => {
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
