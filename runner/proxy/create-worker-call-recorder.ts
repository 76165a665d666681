import { Worker } from "node:worker_threads";
import { AirlockError } from "../../core/errors.ts";
import { awaitRecorderFlush, createRowWaiters, trackSideWrite } from "./await-recorder-flush.ts";
import { readCallKeys, type CallRecorder, type RecorderLog } from "./call-recorder.ts";
import type {
  CallRecorderWorkerData,
  FromRecorderWorker,
  ToRecorderWorker,
} from "./call-recorder-messages.ts";
import type { QueuedCall } from "./write-call-batch.ts";

export interface WorkerCallRecorderOptions {
  /** The Postgres the worker opens its own connection to (PGlite lives in one thread: use createCallRecorder). */
  databaseUrl: string;
  logger: RecorderLog;
  secret: string;
  /** Rows per transaction at most (default 1,000). */
  batchSize?: number;
  /**
   * How long a row waits in the worker for others to share its transaction (ms; default
   * 50, against 10 in process). Each batch costs Postgres about 1.5 ms of CPU on top of
   * its rows (a commit, the chain locks and heads, two round trips). At 1,500 calls/s,
   * going from 10 to 50 ms halved Postgres's CPU per call (0.145 to 0.07 ms) and cut
   * the worker's by a third, on the same two cores the requests need; rows still land
   * within about 60 ms, and flush() does not wait.
   */
  lingerMs?: number;
  maxRetryDelayMs?: number;
  /** Rows not yet written past which new calls are refused (backpressure; default 20,000). */
  maxQueuedRows?: number;
  /** Body characters of those rows past which new calls are refused (default 128 Mi). */
  maxQueuedChars?: number;
  /**
   * How long a new row may wait here for others to go over with it (ms; default 5). Each
   * message wakes the worker's thread, which costs more than the copying; the rows then
   * linger in the worker (lingerMs) anyway, and a flush sends at once.
   */
  postIntervalMs?: number;
  /** Told the call keys of rows written (committed, or dropped for good): their journal lines are obsolete. */
  onRowsDone?: (callKeys: readonly string[]) => void;
}

export interface WorkerCallRecorder extends CallRecorder {
  /** Times the worker was started again after it stopped. */
  readonly restarts: number;
  /** End the worker as a crash would (tests): its unwritten rows go to the next one. */
  killWorkerForTests(): Promise<void>;
}

interface Pending extends QueuedCall {
  chars: number;
}

const workerUrl = new URL("./call-recorder-worker.ts", import.meta.url);

/**
 * The call recorder in a worker thread (issue 9 §8). Redacting the bodies, hashing them,
 * chaining each llm.call entry and the Postgres batch (about a quarter of the proxy's
 * CPU per call, and most of its garbage) run on the machine's other core, and their
 * pauses never land on a request.
 *
 * Nothing is lost on the way: each row stays here until the worker says it is written
 * (or refused for good), rows go over in batches every few milliseconds, and a
 * worker that stops is started again and sent every row it had not written. While it is
 * down, or while more than `maxQueuedRows` rows or `maxQueuedChars` of bodies wait,
 * `healthy` is false and the proxy refuses new calls with 503 (step 2), as it does when
 * the database is down. A worker that dies after committing a batch but before saying so
 * would have that batch written twice by its successor: at least once, never lost.
 */
export function createWorkerCallRecorder(options: WorkerCallRecorderOptions): WorkerCallRecorder {
  const maxQueuedRows = options.maxQueuedRows ?? 20_000;
  const maxQueuedChars = options.maxQueuedChars ?? 128 * 1024 * 1024;
  const postIntervalMs = options.postIntervalMs ?? 5;
  const data: CallRecorderWorkerData = {
    databaseUrl: options.databaseUrl,
    secret: options.secret,
    batchSize: options.batchSize ?? 1_000,
    lingerMs: options.lingerMs ?? 50,
    maxRetryDelayMs: options.maxRetryDelayMs,
  };
  /** Rows not yet written, oldest first; pending[head] is the oldest. */
  const pending: Pending[] = [];
  let head = 0;
  /** Rows from pending[head] on that the current worker has been sent. */
  let sent = 0;
  let pendingChars = 0;
  let enqueued = 0;
  let written = 0;
  /** `written` when the current worker started: its progress counts from there. */
  let writtenBefore = 0;
  let workerHealthy = true;
  let workerUp = false;
  let closing = false;
  let restarts = 0;
  let crashesInARow = 0;
  let postTimer: NodeJS.Timeout | undefined;
  let overloaded = false;
  const tracked = new Set<Promise<unknown>>();
  const waiters = createRowWaiters();
  let closed: (() => void) | undefined;
  let isReady = false;
  let markReady!: () => void;
  let failToStart!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failToStart = reject;
  });
  ready.catch(() => undefined); // read through ready(); a proxy that never asks is not an unhandled rejection
  let worker = startWorker();

  function startWorker(): Worker {
    const started = new Worker(workerUrl, { workerData: data });
    workerUp = true;
    started.on("message", (message: FromRecorderWorker) => onMessage(started, message));
    started.on("error", (error) => {
      options.logger.error({ err: { message: error.message } }, "the call recorder's worker failed");
    });
    started.on("exit", (code) => onExit(started, code));
    return started;
  }

  function onMessage(from: Worker, message: FromRecorderWorker): void {
    if (from !== worker) return;
    if (message.type === "log") return options.logger.error(message.fields, message.message);
    if (message.type === "ready") {
      isReady = true;
      return markReady();
    }
    if (message.type === "closed") {
      if (message.error)
        options.logger.error({ err: { message: message.error } }, "call recorder closed with rows unwritten");
      return closed?.();
    }
    workerHealthy = message.healthy;
    const total = writtenBefore + message.written;
    if (total > written) {
      crashesInARow = 0;
      markWritten(total - written);
    }
  }

  function markWritten(count: number): void {
    if (options.onRowsDone) options.onRowsDone(readCallKeys(pending.slice(head, head + count)));
    for (let i = 0; i < count; i++) pendingChars -= pending[head + i]!.chars;
    head += count;
    sent -= count;
    written += count;
    // Drop written rows from the front now and then, not on every batch.
    if (head > 1024 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
    waiters.release(written);
  }

  function onExit(from: Worker, code: number): void {
    if (from !== worker) return;
    workerUp = false;
    closed?.();
    if (!isReady) {
      // The first worker did not even load: a broken install, not a passing fault. Say so at start-up.
      failToStart(
        new AirlockError(
          "recorder_worker_failed",
          `the call recorder's worker thread stopped (exit code ${code}) before it was ready; see the error logged above`,
        ),
      );
      return;
    }
    if (closing) return;
    const unwritten = pending.length - head;
    options.logger.error(
      { exitCode: code, unwrittenRows: unwritten },
      "the call recorder's worker stopped; refusing new calls until a new one has the unwritten rows",
    );
    crashesInARow += 1;
    const delayMs = Math.min(2_000, 25 * 2 ** Math.min(crashesInARow - 1, 10));
    setTimeout(() => {
      if (closing) return;
      restarts += 1;
      writtenBefore = written;
      sent = 0;
      // Healthy again once the new worker has written what the old one left (or at once, if nothing).
      workerHealthy = pending.length === head;
      worker = startWorker();
      postRows();
    }, delayMs);
  }

  function post(message: ToRecorderWorker): void {
    if (workerUp) worker.postMessage(message);
  }

  /** Send the rows the worker has not been sent yet, in one message. */
  function postRows(): void {
    clearTimeout(postTimer);
    postTimer = undefined;
    if (!workerUp) return;
    const from = head + sent;
    if (from >= pending.length) return;
    const rows = pending.slice(from).map(({ row, secrets }) => ({ row, secrets }));
    sent += rows.length;
    post({ type: "rows", rows });
  }

  function isOverloaded(): boolean {
    const now = pending.length - head > maxQueuedRows || pendingChars > maxQueuedChars;
    if (now && !overloaded) {
      options.logger.error(
        { queuedRows: pending.length - head, queuedChars: pendingChars },
        "the call recorder is behind; refusing new calls until it catches up",
      );
    }
    overloaded = now;
    return now;
  }

  return {
    record(row, secrets) {
      const chars = (row.requestBody?.length ?? 0) + (row.responseBody?.length ?? 0);
      pending.push({ row, secrets, chars });
      pendingChars += chars;
      enqueued += 1;
      postTimer ??= setTimeout(postRows, postIntervalMs);
    },
    track(write) {
      trackSideWrite(tracked, write, options.logger);
    },
    get healthy() {
      return workerUp && workerHealthy && !isOverloaded();
    },
    get queued() {
      return pending.length - head;
    },
    get restarts() {
      return restarts;
    },
    ready: () => ready,
    async killWorkerForTests() {
      await worker.terminate();
    },
    async flush(timeoutMs = 30_000) {
      postRows();
      post({ type: "flush" });
      const target = enqueued;
      await awaitRecorderFlush(waiters.until(target, written), tracked, timeoutMs, () => target - written);
    },
    async close(timeoutMs = 30_000) {
      try {
        await this.flush(timeoutMs);
      } finally {
        closing = true;
        clearTimeout(postTimer);
        if (workerUp) {
          // The worker closes its database connection; a worker that does not answer is ended.
          const answered = new Promise<void>((resolve) => (closed = resolve));
          post({ type: "close", timeoutMs: 1_000 });
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([answered, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
          clearTimeout(timer);
        }
        await worker.terminate();
      }
    },
  };
}
