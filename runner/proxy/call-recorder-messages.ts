import type { RecorderProgress } from "./call-recorder.ts";
import type { QueuedCall } from "./write-call-batch.ts";

/**
 * What the proxy's thread and its call recorder's worker (call-recorder-worker.ts) say to
 * each other. Both ends are this process's own code, started from one file, so the
 * messages are typed rather than parsed.
 */
export interface CallRecorderWorkerData {
  databaseUrl: string;
  /** AIRLOCK_TOKEN_SECRET: the ledger key is derived from it in the worker, as in-process. */
  secret: string;
  batchSize?: number | undefined;
  lingerMs?: number | undefined;
  maxRetryDelayMs?: number | undefined;
}

/** Parent → worker. `rows` are queued in the order sent; `close` flushes, closes the database and ends the worker. */
export type ToRecorderWorker =
  { type: "rows"; rows: QueuedCall[] } | { type: "flush" } | { type: "close"; timeoutMs: number };

/** Worker → parent. `progress.written` counts this worker's rows, in the order they were sent. */
export type FromRecorderWorker =
  /** Loaded, its database client built: rows sent from now on are recorded. */
  | { type: "ready" }
  | ({ type: "progress" } & RecorderProgress)
  | { type: "log"; fields: Record<string, unknown>; message: string }
  | { type: "closed"; error?: string };
