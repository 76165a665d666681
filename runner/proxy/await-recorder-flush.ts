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
