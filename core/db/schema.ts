import { sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  bigint,
  customType,
} from "drizzle-orm/pg-core";
import type { CapabilityKind, CapabilityState } from "../capabilities/capability-kinds.ts";
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
    // GitHub runs (kind "github"): where the work comes from and where it goes.
    installationId: bigint("installation_id", { mode: "number" }),
    /** The repository's clone_url as GitHub reported it; never built from a host name. */
    cloneUrl: text("clone_url"),
    /** Branch the workspace starts from: the default branch, or the PR's branch for a follow-up. */
    baseRef: text("base_ref"),
    /** Branch the relay pushes: `airlock/<issue>-<run>`, or the PR's branch for a follow-up. */
    headBranch: text("head_branch"),
    prNumber: integer("pr_number"),
    /** The run this one follows up (a `/airlock` comment on an Airlock pull request). */
    followUpOf: text("follow_up_of"),
    requestedBy: text("requested_by"),
    trigger: jsonb("trigger").$type<RunTrigger>(),
    /**
     * `.github/airlock.yml` as validated when the run was recorded (a RepoConfig). Typed
     * unknown on purpose: read it with parseStoredRepoConfig (core/repo-config/).
     */
    repoConfig: jsonb("repo_config").$type<unknown>(),
    /** The issue comment edited in place with the run's progress. */
    trackingCommentId: bigint("tracking_comment_id", { mode: "number" }),
    cancelRequestedAt: timestamp("cancel_requested_at", { withTimezone: true }),
    cancelRequestedBy: text("cancel_requested_by"),
    /** Set once the result is on GitHub (PR opened or updated, issue told). Until then a finished GitHub run is still the runner's work. */
    publishedAt: timestamp("published_at", { withTimezone: true }),
    /**
     * How many times the run has resumed after a capability decision (issue 10 §6). A
     * claim of a run with segment > 0 resumes it (workspace from its branch, the agent's
     * state from run_agent_states) instead of starting over.
     */
    segment: integer("segment").notNull().default(0),
    /** When the run last parked in awaiting_approval; null while it is not parked. */
    pausedAt: timestamp("paused_at", { withTimezone: true }),
    /** While parked: when pending requests time out and the run ends capability_timeout. */
    approvalDeadline: timestamp("approval_deadline", { withTimezone: true }),
    /**
     * The image build handed to the repository's workflow (issue 11, `images.build:
     * actions`) for the segment it names, and what came back. Typed unknown on purpose:
     * read it with parseActionsImage (core/db/actions-image.ts).
     */
    actionsImage: jsonb("actions_image").$type<unknown>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    index("runs_claim_idx").on(t.state, t.leaseExpiresAt),
    index("runs_issue_idx").on(t.repo, t.issueNumber),
    uniqueIndex("runs_delivery_id_idx")
      .on(t.deliveryId)
      .where(sql`${t.deliveryId} is not null`),
  ],
);
export type Run = typeof runs.$inferSelect;

/** What started a GitHub run; ids only, never the comment's text (that is in `prompt`, cleaned). */
export interface RunTrigger {
  event:
    "issues.labeled" | "issue_comment.created" | "pull_request_review_comment.created" | "retry" | "reclaim";
  kind: "label" | "command" | "follow_up" | "retry";
  sender: string;
  commentId?: number | undefined;
  /** The comment is a pull request review comment (reactions go to a different route). */
  reviewComment?: boolean | undefined;
}

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

/**
 * One row per proxied LLM request (DESIGN §5), written before the run may finish.
 * Bodies are stored after redaction. `priced` is false when the model had no price:
 * its tokens are recorded and the cost is flagged, never silently zero.
 */
export const llmCalls = pgTable(
  "llm_calls",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    provider: text("provider").notNull(),
    model: text("model"),
    endpoint: text("endpoint").notNull(),
    stream: boolean("stream").notNull().default(false),
    status: integer("status").notNull(),
    error: text("error"),
    /**
     * Set when the proxy itself refused the call, never when the upstream did: "budget",
     * "rate_limit" (the per-run concurrency limit), "auth", "invalid_request", "not_found"…
     * Outcomes are decided from this, not from the error's wording.
     */
    refusal: text("refusal"),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    ttfbMs: integer("ttfb_ms"),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
    cacheCreationTokens: integer("cache_creation_tokens").notNull().default(0),
    cacheReadTokens: integer("cache_read_tokens").notNull().default(0),
    costUsd: numeric("cost_usd", { precision: 18, scale: 10 }).notNull().default("0"),
    priced: boolean("priced").notNull().default(true),
    clientAborted: boolean("client_aborted").notNull().default(false),
    upstreamAttempts: integer("upstream_attempts").notNull().default(1),
    requestBody: text("request_body"),
    responseBody: text("response_body"),
    /**
     * The proxy's key for a forwarded call, also written to its call journal before the
     * call left (runner/proxy/create-call-journal.ts): recovery after a crash records a
     * journaled call only when no row carries its key, so it is never recorded twice.
     */
    callKey: text("call_key").unique("llm_calls_call_key_unique"),
  },
  (t) => [index("llm_calls_run_idx").on(t.runId, t.id)],
);
export type LlmCall = typeof llmCalls.$inferSelect;
export type NewLlmCall = typeof llmCalls.$inferInsert;

/**
 * The audit ledger (DESIGN §8): per run, a hash chain. Each entry stores the previous
 * entry's hash, its own hash over (seq, prevHash, type, data, at) and an HMAC of that
 * hash keyed with the ledger key derived from the operator's secret, so a rewritten chain
 * cannot be re-signed. `type` and `data` follow core/audit/audit-event-schemas.ts.
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    type: text("type").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    hmac: text("hmac").notNull(),
  },
  (t) => [uniqueIndex("audit_events_run_seq_idx").on(t.runId, t.seq)],
);
export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;

/**
 * Every webhook delivery the app has acted on (`X-GitHub-Delivery`). GitHub redelivers on
 * timeouts and operators redeliver by hand: a second delivery with the same id does nothing.
 */
export const webhookDeliveries = pgTable("webhook_deliveries", {
  id: text("id").primaryKey(),
  event: text("event").notNull(),
  action: text("action"),
  installationId: bigint("installation_id", { mode: "number" }),
  repo: text("repo"),
  receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  runId: text("run_id"),
});
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;

/**
 * What agents asked for (DESIGN §6, issue 10): one row per (run, kind, name), so a request
 * asked twice merges into one. `name` is normalised by core/capabilities/ (pip per PEP 503,
 * domains lowercased); `version` is what was asked (npm: exact or a range; pip: an exact
 * pin). Rows are written through core/db/capability-requests.ts.
 */
export const capabilityRequests = pgTable(
  "capability_requests",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    kind: text("kind").$type<CapabilityKind>().notNull(),
    name: text("name").notNull(),
    version: text("version"),
    reason: text("reason").notNull(),
    state: text("state").$type<CapabilityState>().notNull().default("pending"),
    /** The GitHub login (or `pre-approved`, `operator`) that decided; null while pending. */
    decidedBy: text("decided_by"),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    /** Why it was denied, failed or timed out; what the agent is told. */
    decisionReason: text("decision_reason"),
    /** The pull request review that asked a maintainer (one per pause), and this request's comment in it. */
    reviewId: bigint("review_id", { mode: "number" }),
    reviewCommentId: bigint("review_comment_id", { mode: "number" }),
    /** The run segment whose agent asked (runs.segment when it was recorded). */
    segment: integer("segment").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("capability_requests_run_kind_name_idx").on(t.runId, t.kind, t.name),
    index("capability_requests_run_state_idx").on(t.runId, t.state),
  ],
);
export type CapabilityRequest = typeof capabilityRequests.$inferSelect;
export type NewCapabilityRequest = typeof capabilityRequests.$inferInsert;

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => "bytea",
});

/**
 * The agent's private state (its home or state folder: a conversation, a CLI's session
 * files) saved when the run parks for a capability decision, so any runner on any
 * machine can resume it (issue 10 §2). One row per run: the newest pause. `archive` is
 * the gzip of a list of regular files (runner/run/agent-state/), bounded in size.
 */
export const runAgentStates = pgTable("run_agent_states", {
  runId: text("run_id")
    .primaryKey()
    .references(() => runs.id, { onDelete: "cascade" }),
  segment: integer("segment").notNull(),
  archive: bytea("archive").notNull(),
  bytes: integer("bytes").notNull(),
  files: integer("files").notNull(),
  sha256: text("sha256").notNull(),
  savedAt: timestamp("saved_at", { withTimezone: true }).notNull().defaultNow(),
});
export type RunAgentState = typeof runAgentStates.$inferSelect;
