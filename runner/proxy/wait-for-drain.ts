import type { ServerResponse } from "node:http";

/** Back-pressure: resolve when the client has taken what was written, reject when the call is aborted. */
export function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const done = () => {
      res.off("drain", done);
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      res.off("drain", done);
      reject(signal.reason as Error);
    };
    res.on("drain", done);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
