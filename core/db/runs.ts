import {
  and,
  asc,
  count,
  eq,
  exists,
  inArray,
  isNull,
  lt,
  ne,
  notInArray,
  or,
  sql,
  type SQL,
} from "drizzle-orm";
import type { Db } from "./open-database.ts";
import {
  capabilityRequests,
  llmCalls,
  runEvents,
  runs,
  type LlmCall,
  type NewRun,
  type Run,
  type RunEvent,
} from "./schema.ts";
import type { RunState } from "../run-states.ts";
import { isTerminalRunState, terminalRunStates } from "../run-states.ts";
import { actionsImageSchema, parseActionsImage, type ActionsImage } from "./actions-image.ts";
import { checkRunEventData, type RunEventData, type RunEventType } from "./run-event-schemas.ts";

/**
 * Queries on the run aggregate (a run, its events and its LLM calls): the one place that
 * writes run rows, in sections: record, states, leases, budgets, cancellation,
 * publication, usage. Every function takes `db` (or a transaction) first.
 *
 * One other query reads llm_calls sums: the proxy's budget check (runner/proxy/run-ledger.ts),
 * which folds them into its own row lock.
 */

// --- record ---

export async function insertRun(db: Db, run: NewRun): Promise<Run> {
  const [row] = await db.insert(runs).values(run).returning();
  if (!row) throw new Error(`insert of run ${run.id} returned nothing`);
  return row;
}

/** Insert unless a run with this id exists; returns the stored row either way. */
export async function ensureRun(db: Db, run: NewRun): Promise<{ run: Run; created: boolean }> {
  const inserted = await db.insert(runs).values(run).onConflictDoNothing({ target: runs.id }).returning();
  if (inserted[0]) return { run: inserted[0], created: true };
  const existing = await getRun(db, run.id);
  if (!existing) throw new Error(`run ${run.id} vanished during insert`);
  return { run: existing, created: false };
}

export async function getRun(db: Db, id: string): Promise<Run | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id));
  return row;
}

// --- states ---

/**
 * Move a run to a new state and record the change as an event, in one transaction.
 * A run already in a terminal state is left as it is (returns false). With `attempt`, the
 * change is made only while the run is still on that attempt: a runner that lost its lease
 * (another runner re-claimed the run, raising the attempt) cannot end the new attempt's work.
 */
export async function setRunState(
  db: Db,
  id: string,
  state: RunState,
  data: { reason?: string | undefined } = {},
  options: { attempt?: number | undefined } = {},
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ state: runs.state, attempt: runs.attempt })
      .from(runs)
      .where(eq(runs.id, id))
      .for("update");
    if (!current || isTerminalRunState(current.state)) return false;
    if (options.attempt !== undefined && current.attempt !== options.attempt) return false;
    const terminal = isTerminalRunState(state);
    await tx
      .update(runs)
      .set({
        state,
        updatedAt: sql`now()`,
        ...(state === "running" ? { startedAt: sql`coalesce(${runs.startedAt}, now())` } : {}),
        ...(terminal ? { finishedAt: sql`now()`, outcomeReason: data.reason ?? null } : {}),
      })
      .where(and(eq(runs.id, id)));
    const type = `state.${state}` as const;
    await tx.insert(runEvents).values({
      runId: id,
      type,
      data: checkRunEventData(type, { from: current.state, reason: data.reason }),
    });
    return true;
  });
}

/** Refuses a type or data not in core/db/run-event-schemas.ts (typed error, nothing written). */
export async function appendRunEvent<T extends RunEventType>(
  db: Db,
  runId: string,
  type: T,
  data: RunEventData<T>,
): Promise<void> {
  await db.insert(runEvents).values({ runId, type, data: checkRunEventData(type, data) });
}

export async function listRunEvents(db: Db, runId: string): Promise<RunEvent[]> {
  return db.select().from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.id));
}

/**
 * How long a just-claimed run waited, from the database's own clock (issue 15): `queuedMs`
 * from its record, or from its last return to the queue, to the claim (claimRun sets
 * `updatedAt`); `waitingMs`, for a resumed segment, from its pause to the decision that
 * queued it again. A run claimed in another state (a lapsed lease, a publish left undone)
 * was not waiting in the queue: undefined.
 */
export async function measureRunWaits(
  db: Db,
  claimed: Run,
): Promise<{ queuedMs?: number | undefined; waitingMs?: number | undefined }> {
  if (claimed.state !== "queued") return {};
  const [row] = await db
    .select({
      queuedAt: sql<string | null>`max(${runEvents.at}) filter (where ${runEvents.type} = 'state.queued')`,
      pausedAt: sql<
        string | null
      >`max(${runEvents.at}) filter (where ${runEvents.type} = 'state.awaiting_approval')`,
    })
    .from(runEvents)
    .where(eq(runEvents.runId, claimed.id));
  const queuedAt = row?.queuedAt ? new Date(row.queuedAt) : claimed.createdAt;
  const pausedAt = row?.pausedAt ? new Date(row.pausedAt) : undefined;
  const between = (from: Date, to: Date) => Math.max(0, Math.round(to.getTime() - from.getTime()));
  return {
    queuedMs: between(queuedAt, claimed.updatedAt),
    waitingMs:
      claimed.segment > 0 && pausedAt !== undefined && pausedAt <= queuedAt
        ? between(pausedAt, queuedAt)
        : undefined,
  };
}

// --- leases ---

export interface ClaimRunOptions {
  runnerId: string;
  leaseS: number;
}

/**
 * Claims the oldest GitHub run that needs a runner (DESIGN §1 step 2): one that is queued,
 * one whose runner's lease lapsed mid-run (that runner died), or one that finished but whose
 * result is not on GitHub yet. `FOR UPDATE SKIP LOCKED` lets any number of runners, on any
 * number of machines, claim from one table without two ever getting the same row.
 *
 * A claim of an unfinished run raises `attempt`: run tokens name the attempt, so an agent
 * left running by a dead runner cannot spend on the new attempt's budget.
 */
export async function claimRun(db: Db, options: ClaimRunOptions): Promise<Run | undefined> {
  const terminal = [...terminalRunStates];
  const claimable = db
    .select({ id: runs.id })
    .from(runs)
    .where(isClaimable(db))
    .orderBy(asc(runs.createdAt))
    .limit(1)
    .for("update", { skipLocked: true });
  const [claimed] = await db
    .update(runs)
    .set({
      leaseOwner: options.runnerId,
      leaseExpiresAt: sql`now() + make_interval(secs => ${options.leaseS})`,
      attempt: sql`case when ${inArray(runs.state, terminal)} then ${runs.attempt} else ${runs.attempt} + 1 end`,
      updatedAt: sql`now()`,
    })
    .where(inArray(runs.id, claimable))
    .returning();
  return claimed;
}

/** How long a run waits in awaiting_image for its workflow's report before a runner takes it anyway. */
export const imageWorkflowTimeoutS = 3 * 3600;

/** A run a runner may claim now (claimRun): the queue. */
function isClaimable(db: Db): SQL | undefined {
  return and(
    eq(runs.kind, "github"),
    or(isNull(runs.leaseExpiresAt), lt(runs.leaseExpiresAt, sql`now()`)),
    or(notInArray(runs.state, [...terminalRunStates]), isNull(runs.publishedAt)),
    // Its image is being built by the repository's workflow: the app queues it again
    // when workflow_run.completed arrives (issue 11). A workflow that never reports (Actions
    // off, a lost delivery) must not hold the run forever: past imageWorkflowTimeoutS a
    // runner takes it and resumes without the new grants (ensureRunImage says why).
    or(
      ne(runs.state, "awaiting_image"),
      lt(runs.updatedAt, sql`now() - make_interval(secs => ${imageWorkflowTimeoutS})`),
    ),
    // A parked run waits for a maintainer, not a runner: it is claimed again only past
    // its approval deadline, or when a runner died before its review was posted.
    or(
      ne(runs.state, "awaiting_approval"),
      lt(runs.approvalDeadline, sql`now()`),
      exists(
        db
          .select({ one: sql`1` })
          .from(capabilityRequests)
          .where(
            and(
              eq(capabilityRequests.runId, runs.id),
              eq(capabilityRequests.state, "pending"),
              isNull(capabilityRequests.reviewCommentId),
            ),
          ),
      ),
    ),
  );
}

/** How many runs wait for a runner now: queued ones, ones whose runner died, finished ones not yet on GitHub (the queue-depth gauge). */
export async function countClaimableRuns(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(runs).where(isClaimable(db));
  return Number(row?.n ?? 0);
}

/** Runs per state, every state the table holds (the runs-by-state gauge). */
export async function countRunsByState(db: Db): Promise<{ state: RunState; runs: number }[]> {
  const rows = await db.select({ state: runs.state, n: count() }).from(runs).groupBy(runs.state);
  return rows.map((row) => ({ state: row.state, runs: Number(row.n) }));
}

export interface LeaseStatus {
  /** False when another runner took the run (this one was presumed dead): stop at once. */
  held: boolean;
  /** A maintainer asked to stop the run (`/airlock stop`). */
  cancelRequested: boolean;
  cancelRequestedBy: string | undefined;
}

/** Extends the lease while the run is worked on; the answer also carries a pending stop request. */
export async function renewRunLease(
  db: Db,
  options: { runId: string; runnerId: string; leaseS: number },
): Promise<LeaseStatus> {
  const [row] = await db
    .update(runs)
    .set({ leaseExpiresAt: sql`now() + make_interval(secs => ${options.leaseS})` })
    .where(and(eq(runs.id, options.runId), eq(runs.leaseOwner, options.runnerId)))
    .returning({ cancelRequestedAt: runs.cancelRequestedAt, cancelRequestedBy: runs.cancelRequestedBy });
  if (row === undefined) return { held: false, cancelRequested: false, cancelRequestedBy: undefined };
  return {
    held: true,
    cancelRequested: row.cancelRequestedAt !== null,
    cancelRequestedBy: row.cancelRequestedBy ?? undefined,
  };
}

/** Gives the run back: done with it (published), or handing it to the next runner. */
export async function releaseRunLease(db: Db, options: { runId: string; runnerId: string }): Promise<void> {
  await db
    .update(runs)
    .set({ leaseOwner: null, leaseExpiresAt: null, updatedAt: sql`now()` })
    .where(and(eq(runs.id, options.runId), eq(runs.leaseOwner, options.runnerId)));
}

/**
 * The lease owner of a new GitHub run until the app has posted its tracking comment.
 * Without it a runner could claim the run in between and post a second tracking comment,
 * leaving the app's one stuck at "queued". If the app dies first, the lease lapses like
 * any runner's and a runner claims the run as usual (and posts the comment itself).
 */
export const appLeaseOwner = "airlock-app";

/** Lease a just-inserted run to the app for `seconds`, measured on the database's clock (the app's may differ). */
export async function leaseRunToApp(db: Db, runId: string, seconds: number): Promise<Run | undefined> {
  const [row] = await db
    .update(runs)
    .set({ leaseOwner: appLeaseOwner, leaseExpiresAt: sql`now() + make_interval(secs => ${seconds})` })
    .where(eq(runs.id, runId))
    .returning();
  return row;
}

/** The app is done with a new run: runners may claim it; its tracking comment, if posted, is recorded. */
export async function releaseAppLease(
  db: Db,
  runId: string,
  trackingCommentId: number | undefined,
): Promise<void> {
  await db
    .update(runs)
    .set({
      leaseOwner: null,
      leaseExpiresAt: null,
      ...(trackingCommentId !== undefined
        ? { trackingCommentId: sql`coalesce(${runs.trackingCommentId}, ${trackingCommentId})` }
        : {}),
    })
    .where(and(eq(runs.id, runId), eq(runs.leaseOwner, appLeaseOwner)));
}

// --- pause and resume (issue 10) ---

/**
 * Park a run in awaiting_approval (issue 10 §2): the agent stopped with requests pending,
 * its work is pushed and its state saved. The runner keeps its lease until the review is
 * posted, then releases it; claimRun takes a parked run again only past `deadline`, or
 * when a pending request has no review comment yet (its runner died before posting).
 * Only the attempt that parks it may (a runner that lost its lease cannot).
 */
export async function parkRun(
  db: Db,
  input: { runId: string; attempt: number; deadline: Date; reason: string },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ state: runs.state, attempt: runs.attempt })
      .from(runs)
      .where(eq(runs.id, input.runId))
      .for("update");
    if (!current || isTerminalRunState(current.state) || current.attempt !== input.attempt) return false;
    await tx
      .update(runs)
      .set({
        state: "awaiting_approval",
        pausedAt: sql`now()`,
        approvalDeadline: input.deadline,
        updatedAt: sql`now()`,
      })
      .where(eq(runs.id, input.runId));
    await tx.insert(runEvents).values({
      runId: input.runId,
      type: "state.awaiting_approval",
      data: checkRunEventData("state.awaiting_approval", { from: current.state, reason: input.reason }),
    });
    return true;
  });
}

export type ResumeAnswer =
  | { resumed: true; segment: number; awaitingImage?: boolean }
  | { resumed: false; why: "not_parked" | "pending"; pending?: number };

/**
 * Queue a parked run again once no request of it is pending (issue 10 §6): the next
 * runner to claim it resumes the agent on an image with what was granted. Safe to call
 * after every decision and on redeliveries: only the first call that finds nothing
 * pending moves the run.
 */
export async function resumeDecidedRun(
  db: Db,
  runId: string,
  options: { awaitImage?: Omit<ActionsImage, "segment" | "state" | "workflowRunId"> } = {},
): Promise<ResumeAnswer> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ state: runs.state, segment: runs.segment })
      .from(runs)
      .where(eq(runs.id, runId))
      .for("update");
    if (!current || current.state !== "awaiting_approval") return { resumed: false, why: "not_parked" };
    const [pending] = await tx
      .select({ n: count() })
      .from(capabilityRequests)
      .where(and(eq(capabilityRequests.runId, runId), eq(capabilityRequests.state, "pending")));
    if ((pending?.n ?? 0) > 0) return { resumed: false, why: "pending", pending: pending?.n };
    const segment = current.segment + 1;
    // With `awaitImage` (images.build: actions, issue 11) the run waits for the
    // repository's workflow instead of a runner.
    const state = options.awaitImage ? ("awaiting_image" as const) : ("queued" as const);
    const actionsImage: ActionsImage | undefined = options.awaitImage
      ? actionsImageSchema.parse({ ...options.awaitImage, segment, state: "dispatched", workflowRunId: null })
      : undefined;
    await tx
      .update(runs)
      .set({
        state,
        segment,
        pausedAt: null,
        approvalDeadline: null,
        updatedAt: sql`now()`,
        ...(actionsImage ? { actionsImage } : {}),
      })
      .where(eq(runs.id, runId));
    await tx.insert(runEvents).values({
      runId,
      type: `state.${state}`,
      data: checkRunEventData(`state.${state}`, {
        from: "awaiting_approval",
        reason: actionsImage
          ? "every capability request is decided; the repository's workflow builds the image"
          : "every capability request is decided; the run resumes",
      }),
    });
    return { resumed: true, segment, ...(actionsImage ? { awaitingImage: true } : {}) };
  });
}

/** The workflow run GitHub started for a run's image (its answer to the dispatch). */
export async function recordImageWorkflowRun(db: Db, runId: string, workflowRunId: number): Promise<void> {
  await db
    .update(runs)
    .set({
      actionsImage: sql`jsonb_set(${runs.actionsImage}, '{workflowRunId}', ${String(workflowRunId)}::jsonb)`,
    })
    .where(and(eq(runs.id, runId), eq(runs.state, "awaiting_image")));
}

/** The run awaiting the image of workflow run `workflowRunId` in `repo`, if any. */
export async function findRunAwaitingWorkflow(
  db: Db,
  repo: string,
  workflowRunId: number,
): Promise<Run | undefined> {
  const [row] = await db
    .select()
    .from(runs)
    .where(
      and(
        eq(runs.repo, repo),
        eq(runs.state, "awaiting_image"),
        sql`(${runs.actionsImage} ->> 'workflowRunId')::bigint = ${workflowRunId}`,
      ),
    );
  return row;
}

/**
 * The workflow reported (or could not be started): record the image or why there is none,
 * and queue the run for a runner. Only a run still awaiting_image moves (a redelivered
 * webhook changes nothing). On `failed`, the runner resumes without the new grants and
 * says so on the thread (ensureRunImage).
 */
export async function finishRunImage(
  db: Db,
  runId: string,
  result: { state: "built"; image: string } | { state: "failed"; reason: string },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [current] = await tx
      .select({ state: runs.state, actionsImage: runs.actionsImage })
      .from(runs)
      .where(eq(runs.id, runId))
      .for("update");
    if (!current || current.state !== "awaiting_image") return false;
    const before = parseActionsImage(current.actionsImage, runId);
    if (!before) return false;
    const actionsImage = actionsImageSchema.parse({ ...before, ...result });
    await tx
      .update(runs)
      .set({ state: "queued", actionsImage, updatedAt: sql`now()` })
      .where(eq(runs.id, runId));
    await tx.insert(runEvents).values({
      runId,
      type: "state.queued",
      data: checkRunEventData("state.queued", {
        from: "awaiting_image",
        reason:
          result.state === "built"
            ? `the workflow built ${result.image}; the run resumes on it`
            : `the image workflow failed (${result.reason.slice(0, 300)}); the run resumes without the new grants`,
      }),
    });
    return true;
  });
}

/** Parked runs of a pull request (the app finds the run a review decides by its PR). */
export async function listParkedRunsOfPull(db: Db, repo: string, prNumber: number): Promise<Run[]> {
  return db
    .select()
    .from(runs)
    .where(and(eq(runs.repo, repo), eq(runs.prNumber, prNumber), eq(runs.state, "awaiting_approval")))
    .orderBy(asc(runs.createdAt));
}

// --- budgets ---

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

// --- cancellation ---

/** `/airlock stop` on a run: the first request's time is kept; the runner holding the run stops it. */
export async function requestRunCancel(db: Db, runId: string, by: string): Promise<void> {
  await db
    .update(runs)
    .set({
      cancelRequestedAt: sql`coalesce(${runs.cancelRequestedAt}, now())`,
      cancelRequestedBy: by,
    })
    .where(eq(runs.id, runId));
}

// --- publication ---

/** The comment the runner edits as the run goes. */
export async function setRunTrackingComment(db: Db, runId: string, commentId: number): Promise<void> {
  await db.update(runs).set({ trackingCommentId: commentId }).where(eq(runs.id, runId));
}

/** The pull request that carries the run's branch. */
export async function setRunPullNumber(db: Db, runId: string, prNumber: number): Promise<void> {
  await db.update(runs).set({ prNumber }).where(eq(runs.id, runId));
}

/** The run's result is on GitHub (or given up on): runners stop claiming it. */
export async function markRunPublished(db: Db, runId: string): Promise<void> {
  await db
    .update(runs)
    .set({ publishedAt: sql`now()` })
    .where(eq(runs.id, runId));
}

/**
 * Notes a failed attempt to put a finished run on GitHub. The run stays claimable (its lease
 * lapses and another try follows) until `maxFailures`; then it is marked published anyway,
 * with the reason, so a pull request GitHub keeps refusing (a deleted branch, an archived
 * repository) does not cost an API call every lease for ever. The run, its ledger and its
 * branch stay; `airlock audit export` still has everything.
 */
export async function recordPublishFailure(
  db: Db,
  options: { runId: string; error: string; maxFailures: number },
): Promise<{ failures: number; gaveUp: boolean }> {
  return db.transaction(async (tx) => {
    await appendRunEvent(tx, options.runId, "github.publish_failed", { error: options.error });
    const [row] = await tx
      .select({ n: sql<number>`count(*)::int` })
      .from(runEvents)
      .where(and(eq(runEvents.runId, options.runId), eq(runEvents.type, "github.publish_failed")));
    const failures = Number(row?.n ?? 0);
    if (failures < options.maxFailures) return { failures, gaveUp: false };
    await markRunPublished(tx, options.runId);
    await appendRunEvent(tx, options.runId, "github.publish_abandoned", {
      failures,
      lastError: options.error,
    });
    return { failures, gaveUp: true };
  });
}

// --- usage ---

/** The run's LLM calls, in the order the proxy recorded them. */
export async function listRunCalls(db: Db, runId: string): Promise<LlmCall[]> {
  return db.select().from(llmCalls).where(eq(llmCalls.runId, runId)).orderBy(asc(llmCalls.id));
}

export interface RunUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Exact decimal string, summed by the database. */
  costUsd: string;
}

/**
 * What a run's committed LLM calls add up to: in all, and per provider and model (for the
 * metrics). One query: the grand total is the empty grouping set.
 */
export async function sumRunUsage(
  db: Db,
  runId: string,
): Promise<{ total: RunUsage; byModel: (RunUsage & { provider: string; model: string | null })[] }> {
  const rows = await db
    .select({
      isTotal: sql<number>`grouping(${llmCalls.provider}, ${llmCalls.model})`,
      provider: llmCalls.provider,
      model: llmCalls.model,
      calls: sql<number>`count(*)::int`,
      inputTokens: sql<number>`coalesce(sum(${llmCalls.inputTokens}), 0)::bigint`,
      outputTokens: sql<number>`coalesce(sum(${llmCalls.outputTokens}), 0)::bigint`,
      costUsd: sql<string>`coalesce(sum(${llmCalls.costUsd}), 0)::text`,
    })
    .from(llmCalls)
    .where(eq(llmCalls.runId, runId))
    .groupBy(sql`grouping sets ((${llmCalls.provider}, ${llmCalls.model}), ())`);
  const usage = (row: (typeof rows)[number]): RunUsage => ({
    calls: Number(row.calls),
    inputTokens: Number(row.inputTokens),
    outputTokens: Number(row.outputTokens),
    costUsd: row.costUsd,
  });
  const total = rows.find((row) => Number(row.isTotal) !== 0);
  return {
    total: total ? usage(total) : { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: "0" },
    byModel: rows
      .filter((row) => Number(row.isTotal) === 0)
      .map((row) => ({ ...usage(row), provider: row.provider, model: row.model })),
  };
}

export interface RunProgress extends RunUsage {
  state: RunState | undefined;
}

/** A run's progress as the database has it (the proxy's committed rows): the progress line, the tracking comment. */
export async function readRunProgress(db: Db, runId: string): Promise<RunProgress> {
  const [run, usage] = await Promise.all([getRun(db, runId), sumRunUsage(db, runId)]);
  return { state: run?.state, ...usage.total };
}
