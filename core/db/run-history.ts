import { and, count, desc, eq, inArray, isNotNull, sql, type SQL } from "drizzle-orm";
import type { RunState } from "../run-states.ts";
import type { Db } from "./open-database.ts";
import { llmCalls, runs } from "./schema.ts";

/**
 * Read-only queries of the run-history page (issue 13 §2): runs with their LLM usage, a page
 * at a time, and totals per repository and per day. Sums are the database's over the
 * committed llm_calls rows, the same rows the PR summary is computed from.
 */

export interface RunHistoryFilter {
  repo?: string | undefined;
  state?: RunState | undefined;
  /** 1-based. */
  page: number;
  pageSize: number;
}

export interface RunUsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Exact decimal string, summed by the database. */
  costUsd: string;
}

export interface RunHistoryRow extends RunUsageTotals {
  id: string;
  kind: "github" | "local" | "manual";
  repo: string | null;
  issueNumber: number | null;
  agent: string | null;
  state: RunState;
  prNumber: number | null;
  /** The repository's clone_url as GitHub reported it: the PR's web address is derived from it. */
  cloneUrl: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface RunHistoryPage {
  rows: RunHistoryRow[];
  /** Runs matching the filter, on every page. */
  total: number;
}

const noUsage: RunUsageTotals = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: "0" };

/** Newest first (ties broken by id, so pages never overlap). */
export async function listRunHistory(db: Db, filter: RunHistoryFilter): Promise<RunHistoryPage> {
  const conditions: SQL[] = [];
  if (filter.repo !== undefined) conditions.push(eq(runs.repo, filter.repo));
  if (filter.state !== undefined) conditions.push(eq(runs.state, filter.state));
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const [page, [counted]] = await Promise.all([
    db
      .select({
        id: runs.id,
        kind: runs.kind,
        repo: runs.repo,
        issueNumber: runs.issueNumber,
        agent: runs.agent,
        state: runs.state,
        prNumber: runs.prNumber,
        cloneUrl: runs.cloneUrl,
        createdAt: runs.createdAt,
        finishedAt: runs.finishedAt,
      })
      .from(runs)
      .where(where)
      .orderBy(desc(runs.createdAt), desc(runs.id))
      .limit(filter.pageSize)
      .offset((filter.page - 1) * filter.pageSize),
    db.select({ n: count() }).from(runs).where(where),
  ]);
  const usage = await sumUsageByRun(
    db,
    page.map((row) => row.id),
  );
  return {
    rows: page.map((row) => ({ ...row, ...(usage.get(row.id) ?? noUsage) })),
    total: Number(counted?.n ?? 0),
  };
}

/** Every repository that has a run, for the filter's choices. */
export async function listRunRepos(db: Db): Promise<string[]> {
  const rows = await db
    .selectDistinct({ repo: runs.repo })
    .from(runs)
    .where(isNotNull(runs.repo))
    .orderBy(runs.repo);
  return rows.flatMap((row) => (row.repo === null ? [] : [row.repo]));
}

export interface RunTotalsRow extends RunUsageTotals {
  /** The repository (null: runs with none, manual ones) or the UTC day, `YYYY-MM-DD`. */
  key: string | null;
  runs: number;
  succeeded: number;
  failed: number;
}

/** Runs and their LLM usage per repository, by name. */
export async function sumRunTotalsByRepo(db: Db): Promise<RunTotalsRow[]> {
  return sumRunTotals(db, sql`${runs.repo}`, sql`${runs.repo} asc nulls last`, undefined);
}

/** Runs and their LLM usage per UTC day a run was recorded on, the newest `days` days that have runs. */
export async function sumRunTotalsByDay(db: Db, options: { days: number }): Promise<RunTotalsRow[]> {
  const day = sql`to_char(${runs.createdAt} at time zone 'UTC', 'YYYY-MM-DD')`;
  return sumRunTotals(db, day, sql`1 desc`, options.days);
}

async function sumRunTotals(
  db: Db,
  key: SQL,
  order: SQL,
  limit: number | undefined,
): Promise<RunTotalsRow[]> {
  // Usage per run first, so a run with many calls is counted once in `runs`.
  const usage = db
    .select({
      runId: llmCalls.runId,
      calls: sql<number>`count(*)`.as("calls"),
      inputTokens: sql<number>`sum(${llmCalls.inputTokens})`.as("input_tokens"),
      outputTokens: sql<number>`sum(${llmCalls.outputTokens})`.as("output_tokens"),
      costUsd: sql<string>`sum(${llmCalls.costUsd})`.as("cost_usd"),
    })
    .from(llmCalls)
    .groupBy(llmCalls.runId)
    .as("usage");
  const query = db
    .select({
      key: sql<string | null>`${key}`,
      runs: sql<number>`count(*)::int`,
      succeeded: sql<number>`(count(*) filter (where ${runs.state} = 'succeeded'))::int`,
      failed: sql<number>`(count(*) filter (where ${runs.state} in ('failed', 'timed_out', 'budget_exhausted', 'disk_limit')))::int`,
      calls: sql<number>`coalesce(sum(${usage.calls}), 0)::bigint`,
      inputTokens: sql<number>`coalesce(sum(${usage.inputTokens}), 0)::bigint`,
      outputTokens: sql<number>`coalesce(sum(${usage.outputTokens}), 0)::bigint`,
      costUsd: sql<string>`coalesce(sum(${usage.costUsd}), 0)::text`,
    })
    .from(runs)
    .leftJoin(usage, eq(usage.runId, runs.id))
    .groupBy(sql`1`)
    .orderBy(order);
  const rows = limit === undefined ? await query : await query.limit(limit);
  return rows.map((row) => ({
    key: row.key,
    runs: Number(row.runs),
    succeeded: Number(row.succeeded),
    failed: Number(row.failed),
    calls: Number(row.calls),
    inputTokens: Number(row.inputTokens),
    outputTokens: Number(row.outputTokens),
    costUsd: row.costUsd,
  }));
}

async function sumUsageByRun(db: Db, runIds: readonly string[]): Promise<Map<string, RunUsageTotals>> {
  if (runIds.length === 0) return new Map();
  const rows = await db
    .select({
      runId: llmCalls.runId,
      calls: sql<number>`count(*)::int`,
      inputTokens: sql<number>`coalesce(sum(${llmCalls.inputTokens}), 0)::bigint`,
      outputTokens: sql<number>`coalesce(sum(${llmCalls.outputTokens}), 0)::bigint`,
      costUsd: sql<string>`coalesce(sum(${llmCalls.costUsd}), 0)::text`,
    })
    .from(llmCalls)
    .where(inArray(llmCalls.runId, [...runIds]))
    .groupBy(llmCalls.runId);
  return new Map(
    rows.map((row) => [
      row.runId,
      {
        calls: Number(row.calls),
        inputTokens: Number(row.inputTokens),
        outputTokens: Number(row.outputTokens),
        costUsd: row.costUsd,
      },
    ]),
  );
}
