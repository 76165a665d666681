import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { RelayPolicy } from "../../runner/relay/relay-workspace.ts";

export const silentLogger = pino({ level: "silent" });

export const defaultPolicy: RelayPolicy = {
  allowWorkflowChanges: false,
  maxFiles: 100,
  maxFileBytes: 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024,
};

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `airlock-relay-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
