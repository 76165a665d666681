import { eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs, type Run } from "../../core/db/schema.ts";
import type { RunState } from "../../core/run-states.ts";
import { readModelAllowList, type ModelAllowList } from "./policy/model-allow-list.ts";
import type { BudgetLeft } from "./policy/plan-output-cap.ts";
import { readToolGrants } from "./policy/read-tool-grants.ts";
import { parseUsdToUnits } from "./usage.ts";

/**
 * The proxy's per-run budget account. The database is the source of truth when a run is
 * first seen (sums over its llm_calls); after that, spending and reservations are kept
 * in this process so that check-and-reserve is one synchronous step: 200 parallel
 * requests cannot all see the same remaining budget and overshoot it together.
 *
 * A call is admitted only when its whole reservation fits in what is neither spent nor
 * reserved (see policy/plan-output-cap.ts), so the calls in flight can never be billed
 * past the budget together.
 *
 * Limitation: two proxy processes serving the same run each keep their own account, so
 * the overshoot bound becomes one reservation per process. The runner serves each run
 * on its own socket from one process; the shared TCP proxy should be a single process.
 */
export interface RunAccount {
  runId: string;
  state: RunState;
  attempt: number;
  budgetUnits: number | undefined;
  budgetTokens: number | undefined;
  spentUnits: number;
  spentTokens: number;
  reservedUnits: number;
  reservedTokens: number;
  softThresholdRecorded: boolean;
  /** The models this run may call (issue 9 §2). */
  models: ModelAllowList;
  /** Hosted tool types the run holds as `llm-tool:` grants (none until capabilities are recorded). */
  grants: ReadonlySet<string>;
  refreshedAt: number;
  refreshing: Promise<RunAccount | undefined> | undefined;
}

export interface Reservation {
  account: RunAccount;
  units: number;
  tokens: number;
  settled: boolean;
}

export type ReserveResult = { ok: true; reservation: Reservation } | { ok: false; limit: "usd" | "tokens" };

export interface RunLedgerOptions {
  db: Db;
  now: () => number;
  /** How long a run's state and budget are trusted before being re-read (ms). */
  cacheTtlMs: number;
  softThreshold: number;
  /** The operator's AIRLOCK_ALLOWED_MODELS, allowed to every run. */
  operatorModels?: readonly string[];
}

export interface RunLedger {
  /** The run's account, re-read from the database when stale; undefined if the run is unknown. Throws when the database cannot be read. */
  load(runId: string, force?: boolean): Promise<RunAccount | undefined>;
  /** Reserve the call's estimate; when `checkBudget`, only while the run's budgets are not used up. (Concurrency: run-admission.ts.) */
  reserve(
    account: RunAccount,
    estimate: { units: number; tokens: number },
    checkBudget?: boolean,
  ): ReserveResult;
  /** Release the reservation and book the actual spend; true when this spend crossed the soft threshold for the first time. */
  settle(reservation: Reservation, actual: { units: number; tokens: number }): boolean;
}

/** What a run's budgets have left that is neither spent nor reserved by calls in flight. */
export function readBudgetLeft(account: RunAccount): BudgetLeft {
  return {
    tokens:
      account.budgetTokens === undefined
        ? undefined
        : account.budgetTokens - account.spentTokens - account.reservedTokens,
    units:
      account.budgetUnits === undefined
        ? undefined
        : account.budgetUnits - account.spentUnits - account.reservedUnits,
  };
}

// Written out in full: drizzle drops table qualifiers inside a single-table select, and
// the correlated subqueries need them.
/** Tokens as budgeted: OpenAI's input already contains its cached tokens, Anthropic's does not. */
const spentTokensSql = sql.raw(
  `(select coalesce(sum(c.input_tokens + c.output_tokens + case when c.endpoint like '/v1/messages%' then c.cache_creation_tokens + c.cache_read_tokens else 0 end), 0)::text from llm_calls c where c.run_id = runs.id)`,
);
const spentUsdSql = sql.raw(
  `(select coalesce(sum(c.cost_usd), 0)::text from llm_calls c where c.run_id = runs.id)`,
);
const softRecordedSql = sql.raw(
  `(select count(*)::int from run_events e where e.run_id = runs.id and e.type = 'budget.soft_threshold')`,
);

/** The run's columns an account is read from, on first load and on every refresh. */
const accountColumns = {
  state: runs.state,
  attempt: runs.attempt,
  budgetUsd: runs.budgetUsd,
  budgetTokens: runs.budgetTokens,
  kind: runs.kind,
  agent: runs.agent,
  model: runs.model,
  repoConfig: runs.repoConfig,
  /** The run's granted `llm-tool:` capabilities (issue 10), read with the row. */
  toolGrants: sql<
    string[] | null
  >`(select array_agg(c.name) from capability_requests c where c.run_id = runs.id and c.kind = 'llm-tool' and c.state = 'granted')`,
};
type AccountRow = Pick<Run, Exclude<keyof typeof accountColumns, "toolGrants">> & {
  toolGrants: string[] | null;
};

export function createRunLedger(options: RunLedgerOptions): RunLedger {
  const accounts = new Map<string, RunAccount>();
  const operatorModels = options.operatorModels ?? [];
  // First loads in progress: a burst of requests for a new run shares one query.
  const firstLoads = new Map<string, Promise<RunAccount | undefined>>();

  /** What the run's row says of its account, read afresh on every load. */
  function accountFields(runId: string, row: AccountRow) {
    return {
      state: row.state,
      attempt: row.attempt,
      budgetUnits: row.budgetUsd === null ? undefined : parseUsdToUnits(row.budgetUsd),
      budgetTokens: row.budgetTokens ?? undefined,
      models: readModelAllowList(row, operatorModels),
      grants: readToolGrants(row),
      refreshedAt: options.now(),
    };
  }

  async function read(runId: string, existing: RunAccount | undefined): Promise<RunAccount | undefined> {
    if (existing) {
      const [row] = await options.db.select(accountColumns).from(runs).where(eq(runs.id, runId));
      if (!row) {
        accounts.delete(runId);
        return undefined;
      }
      return Object.assign(existing, accountFields(runId, row));
    }
    const [row] = await options.db
      .select({
        ...accountColumns,
        spentUsd: sql<string>`${spentUsdSql}`,
        spentTokens: sql<string>`${spentTokensSql}`,
        softRecorded: sql<number>`${softRecordedSql}`,
      })
      .from(runs)
      .where(eq(runs.id, runId));
    if (!row) return undefined;
    // A concurrent first load may have finished while we waited; keep the one in the map.
    const raced = accounts.get(runId);
    if (raced) return raced;
    const account: RunAccount = {
      runId,
      ...accountFields(runId, row),
      spentUnits: parseUsdToUnits(row.spentUsd),
      spentTokens: Number(row.spentTokens),
      reservedUnits: 0,
      reservedTokens: 0,
      softThresholdRecorded: Number(row.softRecorded) > 0,
      refreshing: undefined,
    };
    accounts.set(runId, account);
    return account;
  }

  function refresh(existing: RunAccount): Promise<RunAccount | undefined> {
    const pending = read(existing.runId, existing).finally(() => {
      existing.refreshing = undefined;
    });
    existing.refreshing = pending;
    return pending;
  }

  return {
    async load(runId, force = false) {
      const existing = accounts.get(runId);
      if (existing && !force) {
        const age = options.now() - existing.refreshedAt;
        if (age < options.cacheTtlMs) {
          // Refresh ahead: past half its TTL the account is re-read in the background, so a
          // run in steady use does not wait for that read on a call every TTL. No call is
          // served on an account older than the TTL: past it, the call waits (below), and a
          // database that cannot be read refuses it.
          if (age >= options.cacheTtlMs / 2 && !existing.refreshing) {
            refresh(existing).catch(() => undefined);
          }
          return existing;
        }
      }
      if (existing?.refreshing) return existing.refreshing;
      if (!existing) {
        const loading = firstLoads.get(runId);
        if (loading) return loading;
        const first = read(runId, undefined).finally(() => firstLoads.delete(runId));
        firstLoads.set(runId, first);
        return first;
      }
      return refresh(existing);
    },
    reserve(account, estimate, checkBudget = true) {
      // Admit only a reservation that fits whole: the calls in flight never overshoot together.
      const left = readBudgetLeft(account);
      if (checkBudget && left.units !== undefined && (left.units <= 0 || estimate.units > left.units)) {
        return { ok: false, limit: "usd" };
      }
      if (checkBudget && left.tokens !== undefined && (left.tokens <= 0 || estimate.tokens > left.tokens)) {
        return { ok: false, limit: "tokens" };
      }
      account.reservedUnits += estimate.units;
      account.reservedTokens += estimate.tokens;
      return {
        ok: true,
        reservation: { account, units: estimate.units, tokens: estimate.tokens, settled: false },
      };
    },
    settle(reservation, actual) {
      if (reservation.settled) return false;
      reservation.settled = true;
      const account = reservation.account;
      account.reservedUnits -= reservation.units;
      account.reservedTokens -= reservation.tokens;
      account.spentUnits += actual.units;
      account.spentTokens += actual.tokens;
      if (account.softThresholdRecorded) return false;
      const crossed =
        (account.budgetUnits !== undefined &&
          account.spentUnits >= account.budgetUnits * options.softThreshold) ||
        (account.budgetTokens !== undefined &&
          account.spentTokens >= account.budgetTokens * options.softThreshold);
      if (crossed) account.softThresholdRecorded = true;
      return crossed;
    },
  };
}
