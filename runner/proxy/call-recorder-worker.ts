import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "../../core/db/open-database.ts";
import { createCallRecorder } from "./call-recorder.ts";
import type {
  CallRecorderWorkerData,
  FromRecorderWorker,
  ToRecorderWorker,
} from "./call-recorder-messages.ts";

/**
 * Entry of the call recorder's worker thread (create-worker-call-recorder.ts): the
 * in-process recorder, on a database connection of its own, so that redacting, hashing,
 * chaining and writing the rows run beside the proxy's requests rather than between them.
 */
const port = parentPort;
if (!port) throw new Error("call-recorder-worker.ts runs as a worker thread only");
const options = workerData as CallRecorderWorkerData;
const send = (message: FromRecorderWorker) => port.postMessage(message);
const database = await openDatabase({ url: options.databaseUrl, max: 2 });
const recorder = createCallRecorder({
  db: database.db,
  secret: options.secret,
  logger: { error: (fields, message) => send({ type: "log", fields, message }) },
  onProgress: (progress) => send({ type: "progress", ...progress }),
  ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
  ...(options.maxRetryDelayMs === undefined ? {} : { maxRetryDelayMs: options.maxRetryDelayMs }),
});

send({ type: "ready" });

port.on("message", (message: ToRecorderWorker) => {
  if (message.type === "rows") {
    for (const queued of message.rows) recorder.record(queued.row, queued.secrets);
  } else if (message.type === "flush") {
    // The parent keeps its own deadline; this only stops the rows lingering.
    recorder.flush(60_000).catch(() => undefined);
  } else {
    void closeRecorder(message.timeoutMs);
  }
});

/** Flush, close the database, tell the parent (which then ends this thread). Never rejects. */
async function closeRecorder(timeoutMs: number): Promise<void> {
  let error: string | undefined;
  try {
    await recorder.close(timeoutMs);
  } catch (e) {
    error = (e as Error).message;
  }
  await database.close().catch(() => undefined);
  send(error === undefined ? { type: "closed" } : { type: "closed", error });
  port!.close();
}
