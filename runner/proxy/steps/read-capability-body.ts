import type { IncomingMessage } from "node:http";

export type ReadCapabilityBodyResult =
  | { ok: true; text: string }
  | { ok: false; status: 408 | 413; code: "request_timeout" | "request_too_large"; message: string };

/**
 * Read a small JSON body within `limitBytes` and `timeoutMs`. A declared or actual size
 * past the limit is refused at once (the rest is not read: the connection is closed after
 * the answer), and a stalled upload times out, so a capability request cannot hold a
 * connection or memory for long.
 */
export function readCapabilityBody(
  req: IncomingMessage,
  options: { limitBytes: number; timeoutMs: number },
): Promise<ReadCapabilityBodyResult> {
  const tooLarge: ReadCapabilityBodyResult = {
    ok: false,
    status: 413,
    code: "request_too_large",
    message: `a capability request body is at most ${options.limitBytes} bytes`,
  };
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > options.limitBytes) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: ReadCapabilityBodyResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      if (!result.ok) req.pause();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          status: 408,
          code: "request_timeout",
          message: `the capability request body did not arrive within ${options.timeoutMs} ms`,
        }),
      options.timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.limitBytes) return finish(tooLarge);
      chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, text: Buffer.concat(chunks).toString("utf8") });
    const onError = () =>
      finish({
        ok: false,
        status: 408,
        code: "request_timeout",
        message: "the capability request body broke off",
      });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}
