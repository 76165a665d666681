import { sql } from "drizzle-orm";
import {
  bigserial,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  bigint,
} from "drizzle-orm/pg-core";
import type { RunState } from "../run-states.ts";

/**
 * One row per run. `id` never contains a dot: run tokens are `<runId>.<attempt>.<expiry>.<sig>`.
 * `kind` says who started it: a GitHub trigger, `airlock run`, or `airlock token` (manual).
 */
export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    kind: text("kind").$type<"github" | "local" | "manual">().notNull(),
    state: text("state").$type<RunState>().notNull().default("queued"),
    agent: text("agent"),
    repo: text("repo"),
    issueNumber: integer("issue_number"),
    prompt: text("prompt"),
    model: text("model"),
    attempt: integer("attempt").notNull().default(0),
    budgetUsd: numeric("budget_usd", { precision: 14, scale: 6 }),
    budgetTokens: bigint("budget_tokens", { mode: "number" }),
    leaseOwner: text("lease_owner"),
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    outcomeReason: text("outcome_reason"),
    deliveryId: text("delivery_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("runs_claim_idx").on(t.state, t.leaseExpiresAt),
    uniqueIndex("runs_delivery_id_idx")
      .on(t.deliveryId)
      .where(sql`${t.deliveryId} is not null`),
  ],
);
export type Run = typeof runs.$inferSelect;
export type NewRun = typeof runs.$inferInsert;

/** What happened to a run, in order: state changes, sandbox exits, warnings. */
export const runEvents = pgTable(
  "run_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    type: text("type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("run_events_run_idx").on(t.runId, t.id)],
);
export type RunEvent = typeof runEvents.$inferSelect;
export type NewRunEvent = typeof runEvents.$inferInsert;
