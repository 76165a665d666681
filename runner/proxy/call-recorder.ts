import { performance } from "node:perf_hooks";
import type { Db } from "../../core/db/open-database.ts";
import { AirlockError } from "../../core/errors.ts";
import { awaitRecorderFlush, createRowWaiters, trackSideWrite } from "./await-recorder-flush.ts";
import type { NewLlmCall } from "../../core/db/schema.ts";
import { writeCallBatch, type QueuedCall } from "./write-call-batch.ts";

/**
 * Writes llm_calls rows off the response path, in batches. A row is queued when its call
 * ends and waits a few milliseconds (lingerMs) for others to share its transaction.
 * `flush()` resolves once every row queued so far is committed, and the runner awaits it
 * before a run may finish (DESIGN §5: committed before the run can finish).
 * A failed write marks the recorder unhealthy (the handler then refuses new calls with
 * 503) and is retried with backoff: rows already queued are never dropped.
 *
 * Each row is chained in its run's audit ledger (an `llm.call` entry with the sha256 of
 * the stored bodies) in the same transaction as the row, so every mode (a run's socket,
 * the shared TCP proxy, a manual `airlock token` run) has its calls on the record, and a
 * call is never on the record twice: a batch that fails leaves neither rows nor entries.
 */
export interface CallRecorder {
  /** Queue a row; bodies are redacted (with these literal secrets too) before insert. */
  record(row: NewLlmCall, secrets: readonly (string | undefined)[]): void;
  /** Track another write that must land before flush() resolves (e.g. a run event). */
  track(write: Promise<unknown>): void;
  readonly healthy: boolean;
  readonly queued: number;
  /** Resolves when the recorder can take rows; the proxy listens only after it (a worker loads first). */
  ready(): Promise<void>;
  flush(timeoutMs?: number): Promise<void>;
  close(timeoutMs?: number): Promise<void>;
}

/** What the recorder logs through: a pino Logger, or the worker's bridge to its parent's (call-recorder-worker.ts). */
export interface RecorderLog {
  error(fields: Record<string, unknown>, message: string): void;
}

/** Rows written so far (committed, or dropped as refused for good), in queue order, and the database's state. */
export interface RecorderProgress {
  written: number;
  healthy: boolean;
}

export interface CallRecorderOptions {
  db: Db;
  logger: RecorderLog;
  /** AIRLOCK_TOKEN_SECRET: the llm.call entries are signed with the ledger key derived from it. */
  secret: string;
  batchSize?: number;
  /**
   * How long a row may wait for others to share its transaction (ms; default 10). A
   * batch's fixed cost (two round trips, a commit and its WAL flush) is then paid once
   * for the calls of those milliseconds, not once per call; at one call at a time that
   * work no longer lands on nearly every next request. flush() and a full batch do not wait.
   */
  lingerMs?: number;
  maxRetryDelayMs?: number;
  /** Told the call keys of rows written (committed, or dropped for good): their journal lines are obsolete. */
  onRowsDone?: (callKeys: readonly string[]) => void;
  /** Told after every batch, written or failed: the worker reports it to its parent (create-worker-call-recorder.ts). */
  onProgress?: (progress: RecorderProgress) => void;
}

interface QueuedRow extends QueuedCall {
  /** performance.now() when queued. */
  queuedAt: number;
}

/**
 * SQLSTATE class 23 (integrity: foreign key, not null…) or 22 (data exception: a value
 * the column cannot hold): the row itself is refused, and retrying will not help.
 * Except 23505 on the ledger's (run_id, seq): another writer raced the chain lock; no
 * row is at fault, so it is retried. 23505 on llm_calls' call_key means the call is on
 * the record already (a worker that died after its commit, or a journal's recovery):
 * isolated and dropped like a refused row, so it is never recorded twice.
 */
/** postgres.js names the violated constraint `constraint_name`, PGlite `constraint`. */
function isCallKeyConflict(error: unknown): boolean {
  const e = error as { code?: unknown; constraint_name?: unknown; constraint?: unknown };
  return e.code === "23505" && (e.constraint_name ?? e.constraint) === callKeyConstraint;
}

/** The error, or one of its causes, says a row with this call key exists already. */
export function hasCallKeyConflict(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isCallKeyConflict(e)) return true;
  }
  return false;
}

const callKeyConstraint = "llm_calls_call_key_unique";

function isIntegrityViolation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    // The pipelined writer finds a deleted run before the foreign key would.
    if (e instanceof AirlockError && e.code === "unknown_run") return true;
    const code = (e as { code?: unknown }).code;
    if (code === "23505") return isCallKeyConflict(e);
    if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

/** The journaled calls among these rows. */
export function readCallKeys(rows: readonly QueuedCall[]): string[] {
  const keys: string[] = [];
  for (const { row } of rows) if (row.callKey) keys.push(row.callKey);
  return keys;
}

export function createCallRecorder(options: CallRecorderOptions): CallRecorder {
  const batchSize = options.batchSize ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 2000;
  const lingerMs = options.lingerMs ?? 10;
  const queue: QueuedRow[] = [];
  const tracked = new Set<Promise<unknown>>();
  const waiters = createRowWaiters();
  let enqueued = 0;
  let written = 0;
  let writing = false;
  let healthy = true;
  let failures = 0;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let lingerTimer: NodeJS.Timeout | undefined;
  // After a batch is refused for its content, write that many rows one at a time so one
  // bad row (its run deleted meanwhile) cannot hold every other row back forever.
  let isolate = 0;

  function markWritten(rows: readonly QueuedRow[]): void {
    const count = rows.length;
    if (options.onRowsDone) options.onRowsDone(readCallKeys(rows));
    written += count;
    options.onProgress?.({ written, healthy });
    waiters.release(written);
  }

  function schedule(delayMs: number): void {
    if (writing || closed) return;
    writing = true;
    if (delayMs === 0) setImmediate(writeBatch);
    else retryTimer = setTimeout(writeBatch, delayMs);
  }

  /** Write the queue once its oldest row has lingered long enough, or at once when a batch is full. */
  function scheduleQueued(): void {
    if (writing || closed || queue.length === 0) return;
    const wait = queue[0]!.queuedAt + lingerMs - performance.now();
    // A flush waiting for rows (waiters) does not linger either.
    if (queue.length >= batchSize || isolate > 0 || waiters.waiting || wait <= 0) return schedule(0);
    writing = true;
    lingerTimer = setTimeout(() => {
      lingerTimer = undefined;
      writeBatch();
    }, wait);
  }

  /** A lingering queue is written now (flush, or a full batch). */
  function hurry(): void {
    if (!lingerTimer) return;
    clearTimeout(lingerTimer);
    lingerTimer = undefined;
    setImmediate(writeBatch);
  }

  function writeBatch(): void {
    retryTimer = undefined;
    const batch = queue.splice(0, isolate > 0 ? 1 : batchSize);
    if (batch.length === 0) {
      writing = false;
      return;
    }
    writeCallBatch(options.db, batch, options.secret).then(
      () => {
        healthy = true;
        failures = 0;
        isolate = Math.max(0, isolate - batch.length);
        markWritten(batch);
        writing = false;
        scheduleQueued();
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
              hasCallKeyConflict(error)
                ? "this call is on the record already (a row carries its call key); row dropped"
                : "the database refused an llm_calls row for its content (was the run deleted?); row dropped",
            );
            isolate = Math.max(0, isolate - 1);
            markWritten(batch);
          }
          if (queue.length > 0) schedule(0);
          return;
        }
        healthy = false;
        failures += 1;
        queue.unshift(...batch);
        options.onProgress?.({ written, healthy });
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
      queue.push({ row, secrets, queuedAt: performance.now() });
      enqueued += 1;
      if (queue.length >= batchSize) hurry();
      scheduleQueued();
    },
    track(write) {
      trackSideWrite(tracked, write, options.logger);
    },
    get healthy() {
      return healthy;
    },
    get queued() {
      return queue.length;
    },
    ready: () => Promise.resolve(),
    async flush(timeoutMs = 30_000) {
      hurry();
      const target = enqueued;
      await awaitRecorderFlush(waiters.until(target, written), tracked, timeoutMs, () => target - written);
    },
    async close(timeoutMs = 30_000) {
      try {
        await this.flush(timeoutMs);
      } finally {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
        if (lingerTimer) clearTimeout(lingerTimer);
      }
    },
  };
}
