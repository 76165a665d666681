import { createHash } from "node:crypto";
import type { Sql } from "postgres";
import {
  auditChainStatements,
  bindStatement,
  toAuditEntryRowsJson,
} from "../../core/audit/audit-chain-statements.ts";
import { chainAuditEntries, type AuditChainHead } from "../../core/audit/chain-audit-entries.ts";
import { GENESIS_HASH } from "../../core/audit/hash-audit-entry.ts";
import { lockAuditChains } from "../../core/audit/lock-audit-chains.ts";
import type { Db } from "../../core/db/open-database.ts";
import { readPostgresClient } from "../../core/db/read-postgres-client.ts";
import type { NewLlmCall } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import { redactSecrets } from "./redact-secrets.ts";
import { formatCostUnits, parseUsdToUnits } from "./usage.ts";

export interface QueuedCall {
  row: NewLlmCall;
  /** Literal secrets (the run token, provider keys) redacted from the bodies before insert. */
  secrets: readonly (string | undefined)[];
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
  "call_key",
].join(", ");
/** $1: the rows as JSON (toColumns), ids already taken. */
const insertCalls = `insert into llm_calls (${columns}) select ${columns} from json_populate_recordset(null::llm_calls, $1::text::json)`;
/** $1: how many ids to take. Run after the chain locks, so a run's calls are chained in id order. */
const takeCallIds = `select nextval(pg_get_serial_sequence('llm_calls', 'id'))::text as id from generate_series(1, $1::int)`;

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
    call_key: row.callKey ?? null,
  };
}

function sha256Hex(text: string | null): string | null {
  return text === null ? null : createHash("sha256").update(text, "utf8").digest("hex");
}

/** The row's llm.call entry; the bodies' digests are over exactly the text stored in the row. */
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

/** The batch's rows with their ids (ascending, in queue order) and their llm.call events. */
function prepareRows(batch: readonly QueuedCall[], ids: readonly number[]) {
  const rows = batch.map(({ row, secrets }, i) => toColumns(ids[i]!, row, secrets));
  return { rowsJson: JSON.stringify(rows), events: rows.map(toCallEvent) };
}

/**
 * Write a batch in one transaction: lock the chains of the batch's runs (in run id order),
 * take the rows' ids (after the locks, so a run's calls are chained in id order even when
 * two proxies record for it), insert the rows, then chain one llm.call entry per row in id
 * order. All or nothing: a batch that fails leaves neither rows nor entries.
 *
 * On Postgres the same statements go pipelined over one reserved connection, two round
 * trips per batch; through drizzle each statement waits for the one before, and for its
 * own describe, about twelve. PGlite (in process) takes the drizzle path.
 */
export async function writeCallBatch(db: Db, batch: readonly QueuedCall[], secret: string): Promise<void> {
  const client = readPostgresClient(db);
  if (client) return writeCallBatchPipelined(client, batch, secret);
  const runIds = batch.map((q) => q.row.runId);
  await db.transaction(async (tx) => {
    const chains = await lockAuditChains(tx, runIds, secret);
    const taken = await tx.execute(bindStatement(takeCallIds, batch.length));
    const ids = readIds(Array.isArray(taken) ? taken : (taken as { rows: { id: string }[] }).rows);
    const { rowsJson, events } = prepareRows(batch, ids);
    await tx.execute(bindStatement(insertCalls, rowsJson));
    // A run that is gone made the insert fail above (foreign key): every run here is locked.
    await chains.append(events);
  });
}

function readIds(rows: readonly { id: string }[]): number[] {
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

// Named statements: prepared once per connection, then each is one Bind/Execute with no
// describe round trip, and queries sent together travel together. (The only named
// statements Airlock uses: a pooler in transaction mode in front of Postgres, such as an
// older PgBouncer, would not keep them; Airlock talks to Postgres directly.)
const prepared = { prepare: true } as const;

/**
 * Round trip 1: BEGIN, the locks, then the heads and the ids (later statements, so they
 * see every append committed before the locks were granted). Round trip 2: the rows, the
 * entries, COMMIT; when an insert fails, Postgres turns that COMMIT into a rollback.
 */
async function writeCallBatchPipelined(client: Sql, batch: readonly QueuedCall[], secret: string) {
  const runIds = [...new Set(batch.map((q) => q.row.runId))].sort();
  const runIdsJson = JSON.stringify(runIds);
  const connection = await client.reserve();
  let inTransaction = false;
  try {
    inTransaction = true;
    const [, locked, headRows, idRows] = await settleAll([
      connection.unsafe("begin"),
      connection.unsafe<{ id: string }[]>(auditChainStatements.lockRuns, [runIdsJson], prepared),
      connection.unsafe<{ run_id: string; seq: number; hash: string }[]>(
        auditChainStatements.readHeads,
        [runIdsJson],
        prepared,
      ),
      connection.unsafe<{ id: string }[]>(takeCallIds, [batch.length], prepared),
    ] as const);
    const heads = new Map<string, AuditChainHead>(locked.map((r) => [r.id, { seq: 0, hash: GENESIS_HASH }]));
    for (const row of headRows) heads.set(row.run_id, { seq: Number(row.seq), hash: row.hash });
    const missing = runIds.filter((id) => !heads.has(id));
    if (missing.length > 0) {
      // What the rows' foreign key would say; the recorder then writes the batch row by row.
      throw new AirlockError(
        "unknown_run",
        `llm_calls rows name runs that do not exist: ${missing.join(", ")}`,
      );
    }
    const { rowsJson, events } = prepareRows(batch, readIds(idRows));
    const entries = chainAuditEntries(heads, events, new Date(), secret);
    inTransaction = false; // the COMMIT below ends it whatever happens before
    await settleAll([
      connection.unsafe(insertCalls, [rowsJson], prepared),
      connection.unsafe(auditChainStatements.insertEntries, [toAuditEntryRowsJson(entries)], prepared),
      connection.unsafe("commit"),
    ]);
  } catch (error) {
    if (inTransaction) await connection.unsafe("rollback").catch(() => undefined);
    throw error;
  } finally {
    connection.release();
  }
}

/** Like Promise.all, but waits for every query (none left running on the connection) before rejecting with the first error. */
async function settleAll<T extends readonly unknown[]>(
  pending: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(pending);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
