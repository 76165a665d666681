import { eq, sql } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { runs } from "../../core/db/schema.ts";

/**
 * Set a run's budgets (the operator's way to raise one: `airlock token --budget-usd`).
 * The proxy re-reads budgets within its run cache TTL, so the change takes effect promptly.
 */
export async function updateRunBudget(
  db: Db,
  runId: string,
  budget: { budgetUsd?: string | undefined; budgetTokens?: number | undefined },
): Promise<void> {
  const set: { budgetUsd?: string; budgetTokens?: number } = {};
  if (budget.budgetUsd !== undefined) set.budgetUsd = budget.budgetUsd;
  if (budget.budgetTokens !== undefined) set.budgetTokens = budget.budgetTokens;
  if (Object.keys(set).length === 0) return;
  await db
    .update(runs)
    .set({ ...set, updatedAt: sql`now()` })
    .where(eq(runs.id, runId));
}
