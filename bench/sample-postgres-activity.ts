import { sql } from "drizzle-orm";
import { readExecutedRows } from "../core/audit/audit-chain-statements.ts";
import type { Database } from "../core/db/open-database.ts";

export interface PostgresReport {
  samples: number;
  /** Mean backends of this database running a statement at a sample (the sampler's own excluded). */
  meanActive: number;
  /** Samples in which at least one backend waited for a heavyweight lock (a row or table lock). */
  samplesWithLockWait: number;
  /** Samples in which at least one backend waited on anything else (LWLock, IO, client…). */
  samplesWithOtherWait: number;
  commits: number;
}

/**
 * What Postgres was doing for this database while a benchmark ran: pg_stat_activity every
 * `intervalMs` (is anything waiting on a lock?), and the commit count from pg_stat_database.
 */
export function startPostgresSampler(
  db: Database["db"],
  intervalMs = 250,
): { stop(): Promise<PostgresReport> } {
  const commits = async () => {
    const rows = readExecutedRows<{ n: string }>(
      await db.execute(
        sql`select xact_commit::text as n from pg_stat_database where datname = current_database()`,
      ),
    );
    return Number(rows[0]?.n ?? 0);
  };
  let samples = 0;
  let active = 0;
  let lockWaits = 0;
  let otherWaits = 0;
  let running = true;
  const begin = commits();
  const loop = (async () => {
    await begin;
    while (running) {
      const [row] = readExecutedRows<{ active: string; locks: string; other: string }>(
        await db.execute(sql`
        select count(*) filter (where state = 'active')::text as active,
               count(*) filter (where wait_event_type = 'Lock')::text as locks,
               count(*) filter (where state = 'active' and wait_event_type is not null
                                and wait_event_type <> 'Lock')::text as other
        from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid()`),
      );
      samples += 1;
      active += Number(row?.active ?? 0);
      if (Number(row?.locks ?? 0) > 0) lockWaits += 1;
      if (Number(row?.other ?? 0) > 0) otherWaits += 1;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const [first, last] = [await begin, await commits()];
      return {
        samples,
        meanActive: samples === 0 ? 0 : active / samples,
        samplesWithLockWait: lockWaits,
        samplesWithOtherWait: otherWaits,
        commits: last - first,
      };
    },
  };
}
