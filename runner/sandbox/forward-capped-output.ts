import type { Readable, Writable } from "node:stream";

export interface CappedOutput {
  /** Bytes forwarded so far (never more than the cap, stdout and stderr together). */
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
  readonly capped: boolean;
  /** Resolves when both sources ended or closed, or after `timeoutMs` (a hung attach must not hang the run). */
  finished(timeoutMs: number): Promise<void>;
  /** Stop listening to the sinks' errors. */
  detach(): void;
}

/**
 * Forward a container's stdout and stderr to the given sinks as chunks arrive, holding
 * nothing: once `capBytes` have passed (both streams together) the rest is read and
 * dropped and `onCapped` fires once. A flood from the sandbox therefore costs the runner
 * at most the cap in the sinks, never an unbounded buffer.
 */
export function forwardCappedOutput(options: {
  stdout: Readable;
  stderr: Readable;
  stdoutSink?: Writable | undefined;
  stderrSink?: Writable | undefined;
  capBytes: number;
  onCapped: () => void;
}): CappedOutput {
  let total = 0;
  let stdoutBytes = 0;
  let stderrBytes = 0;
  let capped = false;
  const broken = new Set<Writable>();
  const onSinkError = new Map<Writable, () => void>();
  for (const sink of [options.stdoutSink, options.stderrSink]) {
    if (!sink || onSinkError.has(sink)) continue;
    // A closed reader (`| head -1`) must not crash the runner before it removes the container.
    const listener = () => broken.add(sink);
    onSinkError.set(sink, listener);
    sink.on("error", listener);
  }

  function forward(source: Readable, sink: Writable | undefined, count: (n: number) => void): Promise<void> {
    source.on("data", (chunk: Buffer) => {
      if (capped) return;
      const room = options.capBytes - total;
      const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
      total += piece.length;
      count(piece.length);
      if (sink && piece.length > 0 && !broken.has(sink)) sink.write(piece);
      if (piece.length < chunk.length) {
        capped = true;
        options.onCapped();
      }
    });
    return new Promise((resolve) => {
      source.once("end", resolve);
      source.once("close", resolve);
      source.once("error", () => resolve());
    });
  }

  const done = Promise.all([
    forward(options.stdout, options.stdoutSink, (n) => (stdoutBytes += n)),
    forward(options.stderr, options.stderrSink, (n) => (stderrBytes += n)),
  ]);

  return {
    get stdoutBytes() {
      return stdoutBytes;
    },
    get stderrBytes() {
      return stderrBytes;
    },
    get capped() {
      return capped;
    },
    async finished(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
    detach() {
      for (const [sink, listener] of onSinkError) sink.off("error", listener);
    },
  };
}
