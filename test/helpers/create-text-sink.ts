import { Writable } from "node:stream";

/** A stream that keeps all that is written to it, for a test to read back as text. */
export function createTextSink(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return Object.assign(sink, { text: () => Buffer.concat(chunks).toString("utf8") });
}
