import { appendEgressAuditEvents } from "../../core/audit/append-egress-audit-events.ts";
import type { Db } from "../../core/db/open-database.ts";
import { AirlockError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { BlockedAttempt } from "./blocked-attempts.ts";
import type { EgressConnectionRecord } from "./egress-connection-record.ts";

export interface EgressAuditBatcher {
  /** Queue one finished connection: chained within `maxDelayMs`, or at once when `maxBatch` are queued. */
  add(record: EgressConnectionRecord): void;
  /**
   * Chain what is still queued, then the run's blocked attempts (one `egress.blocked` each).
   * Rejects (code `egress_audit_incomplete`) when any write failed, naming what is missing
   * from the ledger.
   */
  close(blocked: readonly BlockedAttempt[]): Promise<void>;
}

export interface BatchEgressAuditOptions {
  runId: string;
  /** AIRLOCK_TOKEN_SECRET, for the entries' HMACs. */
  secret: string;
  logger: Logger;
  /** Default 100. */
  maxBatch?: number;
  /** Default 1 000 ms. */
  maxDelayMs?: number;
}

/**
 * The egress proxy's connection records, chained in the run's audit ledger in batches
 * (appendEgressAuditEvents): one transaction and one chain lock per batch, not per
 * connection, so a tool that opens hundreds of connections does not queue on the run's
 * chain against the LLM proxy's writes. Batches are written one after another, in order.
 */
export function batchEgressAudit(db: Db, options: BatchEgressAuditOptions): EgressAuditBatcher {
  const { runId, secret, logger } = options;
  const maxBatch = options.maxBatch ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 1_000;
  let queued: EgressConnectionRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let failure: unknown;
  const missing: string[] = [];

  const write = (what: string, append: () => Promise<unknown>) => {
    writing = writing.then(append).then(
      () => undefined,
      (error: unknown) => {
        failure ??= error;
        missing.push(what);
        logger.error({ runId, err: error }, `egress audit: ${what} could not be chained`);
      },
    );
    return writing;
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (queued.length === 0) return writing;
    const connections = queued;
    queued = [];
    return write(`${connections.length} egress.connection entries`, () =>
      appendEgressAuditEvents(db, { runId, secret, connections }),
    );
  };

  return {
    add(record) {
      queued.push(record);
      if (queued.length >= maxBatch) void flush();
      else if (timer === undefined) {
        timer = setTimeout(() => void flush(), maxDelayMs);
        // The run's close() writes what is queued; a timer must not hold a process open.
        timer.unref();
      }
    },
    async close(blocked) {
      await flush();
      if (blocked.length > 0) {
        await write(`${blocked.length} egress.blocked entries`, () =>
          appendEgressAuditEvents(db, { runId, secret, blocked }),
        );
      }
      if (failure !== undefined) {
        const message = failure instanceof Error ? failure.message : String(failure);
        throw new AirlockError(
          "egress_audit_incomplete",
          `the run's egress records are incomplete in its audit ledger (not chained: ${missing.join(", ")}): ${message}`,
          { cause: failure },
        );
      }
    },
  };
}
