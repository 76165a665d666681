import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { lockAuditChains } from "../../core/audit/lock-audit-chains.ts";
import type { Db } from "../../core/db/open-database.ts";
import { AirlockError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import type { NewLlmCall } from "../../core/db/schema.ts";
import { redactSecrets } from "./redact-secrets.ts";
import { formatCostUnits, parseUsdToUnits } from "./usage.ts";

/**
 * Writes llm_calls rows off the response path, in batches. A row is queued when its call
 * ends; `flush()` resolves once every row queued so far is committed, and the runner
 * awaits it before a run may finish (DESIGN §5: committed before the run can finish).
 * A failed write marks the recorder unhealthy (the handler then refuses new calls with
 * 503) and is retried with backoff: rows already queued are never dropped.
 *
 * Each row is chained in its run's audit ledger (an `llm.call` entry with the sha256 of
 * the stored bodies) in the same transaction as the row, so every mode (a run's socket,
 * the shared TCP proxy, a manual `airlock token` run) has its calls on the record, and a
 * call is never on the record twice: a batch that fails leaves neither rows nor entries.
 */
export interface CallRecorder {
  /** Queue a row; bodies are redacted (with these literal secrets too) before insert. */
  record(row: NewLlmCall, secrets: readonly (string | undefined)[]): void;
  /** Track another write that must land before flush() resolves (e.g. a run event). */
  track(write: Promise<unknown>): void;
  readonly healthy: boolean;
  readonly queued: number;
  flush(timeoutMs?: number): Promise<void>;
  close(timeoutMs?: number): Promise<void>;
}

interface QueuedRow {
  row: NewLlmCall;
  secrets: readonly (string | undefined)[];
}

export interface CallRecorderOptions {
  db: Db;
  logger: Logger;
  /** AIRLOCK_TOKEN_SECRET: the llm.call entries are signed with the ledger key derived from it. */
  secret: string;
  batchSize?: number;
  maxRetryDelayMs?: number;
}

/**
 * The batch goes in as one JSON parameter: building a 200-row insert with the query
 * builder cost more CPU than the rest of the proxy's work per call (see the benchmark).
 */
const columns = [
  "id",
  "run_id",
  "attempt",
  "provider",
  "model",
  "endpoint",
  "stream",
  "status",
  "error",
  "refusal",
  "started_at",
  "latency_ms",
  "ttfb_ms",
  "input_tokens",
  "output_tokens",
  "cache_creation_tokens",
  "cache_read_tokens",
  "cost_usd",
  "priced",
  "client_aborted",
  "upstream_attempts",
  "request_body",
  "response_body",
].join(", ");
const insertPrefix = sql.raw(
  `insert into llm_calls (${columns}) select ${columns} from json_populate_recordset(null::llm_calls,`,
);

/**
 * Postgres text cannot hold U+0000, and its JSON-to-text conversion refuses lone
 * surrogates (SQLSTATE 22P05). Both arrive from agents in malformed bodies; left as they
 * are, one such row would be refused forever. Keep the evidence, visibly escaped.
 */
export function toStorableText(text: string): string {
  return text.toWellFormed().replaceAll("\u0000", "\\u0000");
}

type CallColumns = ReturnType<typeof toColumns>;

function toColumns(id: number, row: NewLlmCall, secrets: readonly (string | undefined)[]) {
  const redact = (text: string | null | undefined) =>
    text == null ? null : toStorableText(redactSecrets(text, secrets));
  return {
    id,
    run_id: row.runId,
    attempt: row.attempt,
    provider: row.provider,
    model: row.model == null ? null : toStorableText(row.model),
    endpoint: toStorableText(row.endpoint),
    stream: row.stream ?? false,
    status: row.status,
    error: redact(row.error),
    refusal: row.refusal ?? null,
    started_at: row.startedAt.toISOString(),
    latency_ms: row.latencyMs,
    ttfb_ms: row.ttfbMs ?? null,
    input_tokens: row.inputTokens ?? 0,
    output_tokens: row.outputTokens ?? 0,
    cache_creation_tokens: row.cacheCreationTokens ?? 0,
    cache_read_tokens: row.cacheReadTokens ?? 0,
    // As the numeric(18,10) column prints it, so the ledger and the row say the same.
    cost_usd: formatCostUnits(parseUsdToUnits(row.costUsd ?? "0")),
    priced: row.priced ?? true,
    client_aborted: row.clientAborted ?? false,
    upstream_attempts: row.upstreamAttempts ?? 1,
    request_body: redact(row.requestBody),
    response_body: redact(row.responseBody),
  };
}

/**
 * SQLSTATE class 23 (integrity: foreign key, not null…) or 22 (data exception: a value
 * the column cannot hold): the row itself is refused, and retrying will not help.
 * Except 23505: the only unique index the batch can hit is the ledger's (run_id, seq),
 * which means another writer raced the chain lock; no row is at fault, so it is retried.
 */
function isIntegrityViolation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "23505") return false;
    if (typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

function sha256Hex(text: string | null): string | null {
  return text === null ? null : createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * One transaction per batch: lock the chains of the batch's runs (in run id order), take
 * the rows' ids (after the locks, so a run's calls are chained in id order even when two
 * proxies record for it), insert the rows, then chain one llm.call entry per row in id
 * order. The bodies' digests are over exactly the text stored in the row.
 */
async function writeCalls(db: Db, batch: readonly QueuedRow[], secret: string): Promise<void> {
  await db.transaction(async (tx) => {
    const chains = await lockAuditChains(
      tx,
      batch.map((q) => q.row.runId),
      secret,
    );
    const ids = await takeCallIds(tx, batch.length);
    const rows = batch.map(({ row, secrets }, i) => toColumns(ids[i]!, row, secrets));
    await tx.execute(sql`${insertPrefix} ${JSON.stringify(rows)}::json)`);
    // A run that is gone made the insert fail above (foreign key): every run here is locked.
    await chains.append(rows.map(toCallEvent));
  });
}

async function takeCallIds(tx: Db, count: number): Promise<number[]> {
  const taken = await tx
    .select({ id: sql<string>`nextval(pg_get_serial_sequence('llm_calls', 'id'))` })
    .from(sql`generate_series(1, ${count}::int)`);
  return taken.map((t) => Number(t.id)).sort((a, b) => a - b);
}

function toCallEvent(row: CallColumns) {
  return {
    runId: row.run_id,
    type: "llm.call" as const,
    data: {
      id: row.id,
      attempt: row.attempt,
      provider: row.provider,
      model: row.model,
      endpoint: row.endpoint,
      status: row.status,
      refusal: row.refusal,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
      cacheReadTokens: row.cache_read_tokens,
      cacheCreationTokens: row.cache_creation_tokens,
      costUsd: row.cost_usd,
      priced: row.priced,
      clientAborted: row.client_aborted,
      requestSha256: sha256Hex(row.request_body),
      responseSha256: sha256Hex(row.response_body),
    },
  };
}

export function createCallRecorder(options: CallRecorderOptions): CallRecorder {
  const batchSize = options.batchSize ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 2000;
  const queue: QueuedRow[] = [];
  const tracked = new Set<Promise<unknown>>();
  const waiters: { target: number; resolve: () => void }[] = [];
  let enqueued = 0;
  let written = 0;
  let writing = false;
  let healthy = true;
  let failures = 0;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  // After a batch is refused for its content, write that many rows one at a time so one
  // bad row (its run deleted meanwhile) cannot hold every other row back forever.
  let isolate = 0;

  function markWritten(count: number): void {
    written += count;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.target <= written) waiters.splice(i, 1)[0]!.resolve();
    }
  }

  function schedule(delayMs: number): void {
    if (writing || closed) return;
    writing = true;
    if (delayMs === 0) setImmediate(writeBatch);
    else retryTimer = setTimeout(writeBatch, delayMs);
  }

  function writeBatch(): void {
    retryTimer = undefined;
    const batch = queue.splice(0, isolate > 0 ? 1 : batchSize);
    if (batch.length === 0) {
      writing = false;
      return;
    }
    writeCalls(options.db, batch, options.secret).then(
      () => {
        healthy = true;
        failures = 0;
        isolate = Math.max(0, isolate - batch.length);
        markWritten(batch.length);
        writing = false;
        if (queue.length > 0) schedule(0);
      },
      (error: unknown) => {
        if (isIntegrityViolation(error)) {
          writing = false;
          if (batch.length > 1) {
            queue.unshift(...batch);
            isolate = batch.length;
          } else {
            options.logger.error(
              { runId: batch[0]!.row.runId, err: { message: (error as Error).message } },
              "the database refused an llm_calls row for its content (was the run deleted?); row dropped",
            );
            isolate = Math.max(0, isolate - 1);
            markWritten(1);
          }
          if (queue.length > 0) schedule(0);
          return;
        }
        healthy = false;
        failures += 1;
        queue.unshift(...batch);
        options.logger.error(
          { err: { message: (error as Error).message }, rows: batch.length, failures },
          "llm_calls write failed; refusing new calls until the database answers",
        );
        writing = false;
        schedule(Math.min(maxRetryDelayMs, 50 * 2 ** Math.min(failures, 10)));
      },
    );
  }

  return {
    record(row, secrets) {
      queue.push({ row, secrets });
      enqueued += 1;
      schedule(0);
    },
    track(write) {
      const tracked_ = write.catch((error: unknown) => {
        options.logger.error({ err: { message: (error as Error).message } }, "proxy side write failed");
      });
      tracked.add(tracked_);
      void tracked_.finally(() => tracked.delete(tracked_));
    },
    get healthy() {
      return healthy;
    },
    get queued() {
      return queue.length;
    },
    async flush(timeoutMs = 30_000) {
      const target = enqueued;
      const rowsDone =
        written >= target
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiters.push({ target, resolve }));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AirlockError(
                "proxy_flush_timeout",
                `${target - written} LLM call rows could not be written to the database within ${timeoutMs} ms; check the database connection`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        await Promise.race([Promise.all([rowsDone, ...tracked]), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close(timeoutMs = 30_000) {
      try {
        await this.flush(timeoutMs);
      } finally {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
      }
    },
  };
}
