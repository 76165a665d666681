import { randomBytes } from "node:crypto";

/**
 * Run ids: `r` + time-ordered base36 + random. Only [a-z0-9]: no dots (run tokens
 * split on them), safe in branch names, labels and file names.
 */
export function newRunId(now: number = Date.now()): string {
  return `r${now.toString(36)}${randomBytes(5).toString("hex")}`;
}

export const runIdPattern = /^[a-z0-9][a-z0-9_-]{0,63}$/;
