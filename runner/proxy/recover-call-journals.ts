import { randomUUID } from "node:crypto";
import { readdir, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { inArray } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../core/db/open-database.ts";
import { llmCalls, type NewLlmCall } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import { hasCallKeyConflict } from "./call-recorder.ts";
import { journalFileName, type JournaledCall } from "./create-call-journal.ts";
import { formatCostUnits } from "./usage.ts";
import { writeCallBatch } from "./write-call-batch.ts";
import { isProcessAlive } from "../is-process-alive.ts";

export interface RecoverCallJournalsOptions {
  db: Db;
  /** AIRLOCK_TOKEN_SECRET: the recovered llm.call entries are chained and signed like any other. */
  secret: string;
  /** `<dataDir>/call-journal`. */
  dir: string;
  logger: { warn(fields: Record<string, unknown>, message: string): void };
  /** Is this pid a live process? Default: process.kill(pid, 0). */
  isAlive?: (pid: number) => boolean;
}

export interface RecoveredJournals {
  files: number;
  /** Calls recorded now, as interrupted. */
  recorded: number;
  /** Calls whose row existed already. */
  onRecord: number;
}

const journaledCallSchema = z.object({
  k: z.string().min(1),
  runId: z.string().min(1),
  attempt: z.number().int().nonnegative(),
  endpoint: z.string(),
  model: z.string().nullable(),
  provider: z.string(),
  tokens: z.number().int().nonnegative(),
  units: z.number().int().nonnegative(),
  at: z.iso.datetime(),
}) satisfies z.ZodType<JournaledCall>;

/**
 * Is the journal's writer gone? Its pid is in the file's name. A file with this process's
 * own pid is a dead predecessor's (a runner restarted as pid 1 in a container) when it
 * was last written before this process started; else it is this process's own.
 */
async function isWriterDead(path: string, pid: number, isAlive: (pid: number) => boolean): Promise<boolean> {
  if (pid !== process.pid) return !isAlive(pid);
  const startedAt = performance.timeOrigin;
  return (await stat(path)).mtimeMs < startedAt;
}

function toInterruptedRow(call: JournaledCall, writerPid: number): NewLlmCall {
  return {
    runId: call.runId,
    attempt: call.attempt,
    provider: call.provider,
    model: call.model,
    endpoint: call.endpoint,
    stream: false,
    // No answer on the record: the proxy stopped before the call ended.
    status: 0,
    error:
      `interrupted: the proxy (process ${writerPid}) stopped before this call ended; the upstream may ` +
      "have served it, so its whole reservation is charged (recorded from the proxy's call journal)",
    refusal: null,
    startedAt: new Date(call.at),
    latencyMs: 0,
    ttfbMs: null,
    // Issue 9: when the real usage cannot be known, the whole reservation is charged. The
    // reservation is one bound (input upper bound + output cap), booked as input tokens.
    inputTokens: call.tokens,
    outputTokens: 0,
    costUsd: formatCostUnits(call.units),
    upstreamAttempts: 1,
    requestBody: null,
    responseBody: null,
    callKey: call.k,
  };
}

function parseJournal(text: string): { calls: JournaledCall[]; unreadable: number } {
  const calls: JournaledCall[] = [];
  let unreadable = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      calls.push(journaledCallSchema.parse(JSON.parse(line)));
    } catch {
      unreadable += 1;
    }
  }
  return { calls, unreadable };
}

/**
 * The call's run is not in this database: the pipelined writer (Postgres) says so itself,
 * PGlite through the rows' foreign key (SQLSTATE 23503), possibly wrapped by drizzle.
 */
function isRunGone(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof AirlockError && e.code === "unknown_run") return true;
    if ((e as { code?: unknown }).code === "23503") return true;
  }
  return false;
}

/** Record each journaled call that has no row yet; a row that appeared meanwhile (another recovery) is skipped. */
async function recordMissing(
  options: RecoverCallJournalsOptions,
  calls: readonly JournaledCall[],
  writerPid: number,
): Promise<{ recorded: number; onRecord: number }> {
  const byKey = new Map(calls.map((c) => [c.k, c]));
  if (byKey.size === 0) return { recorded: 0, onRecord: 0 };
  const existing = await options.db
    .select({ key: llmCalls.callKey })
    .from(llmCalls)
    .where(inArray(llmCalls.callKey, [...byKey.keys()]));
  for (const { key } of existing) if (key) byKey.delete(key);
  let recorded = 0;
  let onRecord = calls.length - byKey.size;
  for (const call of byKey.values()) {
    try {
      // One call per transaction: one that cannot be written does not hold the others back.
      await writeCallBatch(
        options.db,
        [{ row: toInterruptedRow(call, writerPid), secrets: [] }],
        options.secret,
      );
      recorded += 1;
    } catch (error) {
      if (hasCallKeyConflict(error)) {
        onRecord += 1;
      } else if (isRunGone(error)) {
        options.logger.warn(
          { runId: call.runId },
          "a journaled call's run is gone; the call is not recorded",
        );
      } else {
        throw error;
      }
    }
  }
  return { recorded, onRecord };
}

/**
 * Record the calls left in flight by proxies that were killed (create-call-journal.ts):
 * each journaled call with no llm_calls row becomes an interrupted call (status 0, its
 * whole reservation charged), chained into its run's audit ledger like any call, then the
 * journal is removed. Only journals whose writer process is dead are touched, and each is
 * claimed by renaming it first, so two recoveries never read the same file; recovering
 * twice records a call once (its call key is unique).
 *
 * Runs when a runner or `airlock proxy` starts, and when a runner takes a run over from
 * an attempt that stopped. Journals are per host: calls in flight in a runner that died
 * on another host are recorded when a runner starts again on that host.
 */
export async function recoverCallJournals(options: RecoverCallJournalsOptions): Promise<RecoveredJournals> {
  const isAlive = options.isAlive ?? isProcessAlive;
  const total: RecoveredJournals = { files: 0, recorded: 0, onRecord: 0 };
  let names: string[];
  try {
    names = await readdir(options.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return total;
    throw error;
  }
  for (const name of names) {
    const match = journalFileName.exec(name);
    if (!match) continue;
    const writerPid = Number(match[1]);
    const path = join(options.dir, name);
    // Claimed under this process's pid and a fresh time: a recovery that dies here leaves
    // a file the next start recovers, and another recovery in this process leaves it be.
    const claimed = join(options.dir, `${process.pid}-${randomUUID()}.jsonl`);
    try {
      if (!(await isWriterDead(path, writerPid, isAlive))) continue;
      await rename(path, claimed);
      const now = new Date();
      await utimes(claimed, now, now);
    } catch (error) {
      // Another recovery claimed it first.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    const { calls, unreadable } = parseJournal(await readFile(claimed, "utf8"));
    if (unreadable > 0) {
      options.logger.warn(
        { file: name, unreadable },
        "call journal lines that could not be read were skipped",
      );
    }
    let done: { recorded: number; onRecord: number };
    try {
      done = await recordMissing(options, calls, writerPid);
    } catch (error) {
      // Given back under its writer's name, so the next recovery tries it again.
      await rename(claimed, path).catch(() => undefined);
      throw new AirlockError(
        "journal_recovery_failed",
        `could not record the calls in ${name}; kept for the next recovery`,
        {
          cause: error,
        },
      );
    }
    await unlink(claimed);
    total.files += 1;
    total.recorded += done.recorded;
    total.onRecord += done.onRecord;
    if (done.recorded > 0) {
      options.logger.warn(
        { file: name, writerPid, recorded: done.recorded },
        "recorded LLM calls a stopped proxy left in flight, charging their whole reservation",
      );
    }
  }
  return total;
}
