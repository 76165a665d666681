import type { RecorderLog } from "./call-recorder.ts";
import { AirlockError } from "../../core/errors.ts";

/**
 * A call recorder's flush, in-process or through its worker: wait until the rows enqueued
 * so far are written (`rowsDone`) and every call still being recorded has settled
 * (`tracked`), or fail after `timeoutMs` saying how many rows are still unwritten.
 */
export async function awaitRecorderFlush(
  rowsDone: Promise<void>,
  tracked: Iterable<Promise<unknown>>,
  timeoutMs: number,
  unwritten: () => number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AirlockError(
            "proxy_flush_timeout",
            `${unwritten()} LLM call rows could not be written to the database within ${timeoutMs} ms; check the database connection`,
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
}

/** The flushes waiting for the count of written rows to reach their targets. */
export function createRowWaiters() {
  const waiters: { target: number; resolve: () => void }[] = [];
  return {
    get waiting(): boolean {
      return waiters.length > 0;
    },
    /** Resolves once `written` reaches `target`; at once when it has already. */
    until(target: number, written: number): Promise<void> {
      if (written >= target) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ target, resolve }));
    },
    /** The count of written rows moved on to `written`: release the flushes it satisfies. */
    release(written: number): void {
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.target <= written) waiters.splice(i, 1)[0]!.resolve();
      }
    },
  };
}

/** Keep a side write (a run event, say) in `tracked` until it settles; a failure is logged, never thrown. */
export function trackSideWrite(
  tracked: Set<Promise<unknown>>,
  write: Promise<unknown>,
  logger: Pick<RecorderLog, "error">,
): void {
  const settled = write.catch((error: unknown) => {
    logger.error({ err: { message: (error as Error).message } }, "proxy side write failed");
  });
  tracked.add(settled);
  void settled.finally(() => tracked.delete(settled));
}
