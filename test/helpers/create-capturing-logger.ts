import { Writable } from "node:stream";
import pino from "pino";
import { redactPaths, type Logger } from "../../core/logger.ts";

/** A logger whose JSON lines the test can read (to prove no secret reaches a log). */
export function createCapturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = pino({ level: "debug", redact: { paths: redactPaths, censor: "[redacted]" } }, stream);
  return { logger, lines };
}
