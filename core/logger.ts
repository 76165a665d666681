import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Paths that may carry secrets, redacted wherever they appear in a log object.
 * Modules log ids, not payloads; this is the second line of defence.
 */
export const redactPaths = [
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  'headers["x-api-key"]',
  "apiKey",
  "*.apiKey",
  "privateKey",
  "*.privateKey",
  "password",
  "*.password",
  "secret",
  "*.secret",
];

/** JSON lines on stderr (stdout belongs to command output). */
export function createLogger(level = "info", bindings: Record<string, unknown> = {}): Logger {
  return pino(
    { level, base: { pid: process.pid, ...bindings }, redact: { paths: redactPaths, censor: "[redacted]" } },
    pino.destination(2),
  );
}
