import { setTimeout as sleep } from "node:timers/promises";

export interface WaitUntilOptions {
  /** Give up after this long; generous, since a loaded 2-core machine is slow, not broken. */
  timeoutMs?: number;
  /** How often the probe is asked again. */
  intervalMs?: number;
}

/**
 * Waits until `probe` returns a value (anything but undefined or false) and returns it:
 * tests wait on the condition they need, never on a guessed sleep. On time-out it throws
 * naming `what`, so a failure says what never happened.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitUntilOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 20;
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}
