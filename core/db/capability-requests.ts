import { and, asc, count, eq, isNull, sql } from "drizzle-orm";
import { lockAuditChains } from "../audit/lock-audit-chains.ts";
import type { CapabilityKind, CapabilitySpec, CapabilityState } from "../capabilities/capability-kinds.ts";
import type { CapabilityRequestInput } from "../capabilities/validate-capability-request.ts";
import { AirlockError } from "../errors.ts";
import type { Db } from "./open-database.ts";
import { capabilityRequests, runs, type CapabilityRequest } from "./schema.ts";

/**
 * Queries on the capability-request aggregate (issue 10): the one place that writes
 * capability_requests rows. Each write takes the run's audit-chain lock first
 * (lockAuditChains, a row lock on the run), so the pending count, the row and its audit
 * entry are one serialised step per run: parallel requests cannot pass the pending bound
 * together, and every change is on the record in the same transaction.
 */

export const defaultMaxPendingCapabilities = 10;

export type RecordCapabilityOutcome =
  /** A new pending request. */
  | { kind: "created"; request: CapabilityRequest }
  /** The run had already asked for this kind and name and it is still pending: the newest version and reason replace the old. */
  | { kind: "merged"; request: CapabilityRequest }
  /** Already decided (granted, pre-approved, denied, failed, timed out): answered with its state, unchanged. */
  | { kind: "decided"; request: CapabilityRequest }
  /** The run has `max` pending requests already. */
  | { kind: "too_many"; pending: number; max: number };

export interface RecordCapabilityInput {
  runId: string;
  request: CapabilityRequestInput;
  /** At most this many pending requests per run (default 10). */
  maxPending?: number;
  /** AIRLOCK_TOKEN_SECRET, for the audit entry's HMAC. */
  secret: string;
}

/** Record what the agent asked for; see RecordCapabilityOutcome. Throws (code unknown_run) for a run the database does not know. */
export async function recordCapabilityRequest(
  db: Db,
  input: RecordCapabilityInput,
): Promise<RecordCapabilityOutcome> {
  const { runId, request } = input;
  const max = input.maxPending ?? defaultMaxPendingCapabilities;
  return db.transaction(async (tx) => {
    const chains = await lockAuditChains(tx, [runId], input.secret);
    if (!chains.has(runId)) {
      throw new AirlockError(
        "unknown_run",
        `cannot record a capability request: run ${runId} does not exist`,
      );
    }
    const [existing] = await tx
      .select()
      .from(capabilityRequests)
      .where(
        and(
          eq(capabilityRequests.runId, runId),
          eq(capabilityRequests.kind, request.kind),
          eq(capabilityRequests.name, request.name),
        ),
      );
    if (existing && existing.state !== "pending") return { kind: "decided", request: existing };
    let row: CapabilityRequest | undefined;
    if (existing) {
      [row] = await tx
        .update(capabilityRequests)
        .set({ version: request.version ?? null, reason: request.reason })
        .where(eq(capabilityRequests.id, existing.id))
        .returning();
    } else {
      const [pending] = await tx
        .select({ n: count() })
        .from(capabilityRequests)
        .where(and(eq(capabilityRequests.runId, runId), eq(capabilityRequests.state, "pending")));
      const n = pending?.n ?? 0;
      if (n >= max) return { kind: "too_many", pending: n, max };
      [row] = await tx
        .insert(capabilityRequests)
        .values({
          runId,
          kind: request.kind,
          name: request.name,
          version: request.version ?? null,
          reason: request.reason,
          // The segment of the run that asked: on resume the agent is told about these.
          segment: sql`(select ${runs.segment} from ${runs} where ${runs.id} = ${runId})`,
        })
        .returning();
    }
    if (!row)
      throw new AirlockError("capability_write_failed", `capability request of run ${runId} was not written`);
    const outcome = existing ? "merged" : "created";
    await chains.append([
      {
        runId,
        type: "capability.requested",
        data: {
          id: row.id,
          kind: row.kind,
          name: row.name,
          version: row.version,
          reason: row.reason,
          outcome,
        },
      },
    ]);
    return { kind: outcome, request: row };
  });
}

/** Requests per kind and state, all runs together (the capability-requests-by-decision gauge). */
export async function countCapabilityRequests(
  db: Db,
): Promise<{ kind: CapabilityKind; state: CapabilityState; requests: number }[]> {
  const rows = await db
    .select({ kind: capabilityRequests.kind, state: capabilityRequests.state, n: count() })
    .from(capabilityRequests)
    .groupBy(capabilityRequests.kind, capabilityRequests.state);
  return rows.map((row) => ({ kind: row.kind, state: row.state, requests: Number(row.n) }));
}

/** The run's requests, oldest first. */
export async function listCapabilityRequests(db: Db, runId: string): Promise<CapabilityRequest[]> {
  return db
    .select()
    .from(capabilityRequests)
    .where(eq(capabilityRequests.runId, runId))
    .orderBy(asc(capabilityRequests.id));
}

/** The run's requests still waiting for a decision, oldest first. */
export async function listPendingCapabilityRequests(db: Db, runId: string): Promise<CapabilityRequest[]> {
  return db
    .select()
    .from(capabilityRequests)
    .where(and(eq(capabilityRequests.runId, runId), eq(capabilityRequests.state, "pending")))
    .orderBy(asc(capabilityRequests.id));
}

/**
 * Remember the review comment that asks a maintainer about a request, so a reply in its
 * thread (`/approve`, `/deny`) finds it, and a re-published pause does not ask twice.
 * Only a request without one gets it (the first posting wins).
 */
export async function setCapabilityReviewComment(
  db: Db,
  input: { id: number; reviewId: number; reviewCommentId: number },
): Promise<boolean> {
  const rows = await db
    .update(capabilityRequests)
    .set({ reviewId: input.reviewId, reviewCommentId: input.reviewCommentId })
    .where(and(eq(capabilityRequests.id, input.id), isNull(capabilityRequests.reviewCommentId)))
    .returning({ id: capabilityRequests.id });
  return rows.length > 0;
}

/**
 * The request a review comment asks about (the top comment of a thread), if any, among the
 * runs of that repository's pull request: a comment id is looked up only where it can have
 * been posted, so a stale or foreign id never decides another repository's request.
 */
export async function findCapabilityRequestByReviewComment(
  db: Db,
  where: { reviewCommentId: number; repo: string; prNumber: number },
): Promise<CapabilityRequest | undefined> {
  const [row] = await db
    .select({ request: capabilityRequests })
    .from(capabilityRequests)
    .innerJoin(runs, eq(runs.id, capabilityRequests.runId))
    .where(
      and(
        eq(capabilityRequests.reviewCommentId, where.reviewCommentId),
        eq(runs.repo, where.repo),
        eq(runs.prNumber, where.prNumber),
      ),
    );
  return row?.request;
}

export interface DecideCapabilityInput {
  runId: string;
  id: number;
  state: Exclude<CapabilityState, "pending">;
  /** GitHub login, `pre-approved`, `operator`, `rebuild` or `timeout`. */
  by: string;
  reason?: string | undefined;
  secret: string;
  at?: Date;
}

/**
 * Decide a pending request. Idempotent across webhook redeliveries: a request already
 * decided is returned unchanged with `changed: false`.
 */
export async function decideCapabilityRequest(
  db: Db,
  input: DecideCapabilityInput,
): Promise<{ changed: boolean; request: CapabilityRequest | undefined }> {
  return db.transaction(async (tx) => {
    const chains = await lockAuditChains(tx, [input.runId], input.secret);
    const [row] = await tx
      .update(capabilityRequests)
      .set({
        state: input.state,
        decidedBy: input.by,
        decidedAt: input.at ?? new Date(),
        decisionReason: input.reason ?? null,
      })
      .where(
        and(
          eq(capabilityRequests.id, input.id),
          eq(capabilityRequests.runId, input.runId),
          eq(capabilityRequests.state, "pending"),
        ),
      )
      .returning();
    if (!row) {
      const [current] = await tx
        .select()
        .from(capabilityRequests)
        .where(and(eq(capabilityRequests.id, input.id), eq(capabilityRequests.runId, input.runId)));
      return { changed: false, request: current };
    }
    await chains.append([decidedEvent(row)], input.at);
    return { changed: true, request: row };
  });
}

/**
 * End every request of the run still pending, the same way (the run ended before anyone
 * decided, or its approval deadline passed): each decision is audited as any other.
 */
export async function closePendingCapabilityRequests(
  db: Db,
  input: { runId: string; state: "failed" | "timed_out"; by: string; reason: string; secret: string },
): Promise<number> {
  const pending = await listPendingCapabilityRequests(db, input.runId);
  for (const request of pending) {
    await decideCapabilityRequest(db, { ...input, id: request.id });
  }
  return pending.length;
}

/**
 * A granted request whose rebuild failed (issue 10 §5 "On failure"): it becomes `failed`
 * with the reason the agent and the thread are told; the run resumes without it.
 */
export async function failGrantedCapability(
  db: Db,
  input: { runId: string; id: number; reason: string; secret: string },
): Promise<CapabilityRequest | undefined> {
  return db.transaction(async (tx) => {
    const chains = await lockAuditChains(tx, [input.runId], input.secret);
    const [row] = await tx
      .update(capabilityRequests)
      .set({ state: "failed", decidedBy: "rebuild", decidedAt: new Date(), decisionReason: input.reason })
      .where(
        and(
          eq(capabilityRequests.id, input.id),
          eq(capabilityRequests.runId, input.runId),
          eq(capabilityRequests.state, "granted"),
        ),
      )
      .returning();
    if (row) await chains.append([decidedEvent(row)]);
    return row;
  });
}

/**
 * Record a run's pre-approved grants (`.github/airlock/capabilities.yml` on the default
 * branch, or `airlock run --grant`) as granted requests, so an agent asking for one is
 * answered at once. A row the run already has for that kind and name is left as it is.
 */
export async function grantPreApprovedCapabilities(
  db: Db,
  input: { runId: string; grants: readonly CapabilitySpec[]; by: string; reason: string; secret: string },
): Promise<CapabilityRequest[]> {
  if (input.grants.length === 0) return [];
  return db.transaction(async (tx) => {
    const chains = await lockAuditChains(tx, [input.runId], input.secret);
    const decidedAt = new Date();
    const rows = await tx
      .insert(capabilityRequests)
      .values(
        input.grants.map((grant) => ({
          runId: input.runId,
          kind: grant.kind,
          name: grant.name,
          version: grant.version ?? null,
          reason: input.reason,
          state: "granted" as const,
          decidedBy: input.by,
          decidedAt,
        })),
      )
      .onConflictDoNothing({
        target: [capabilityRequests.runId, capabilityRequests.kind, capabilityRequests.name],
      })
      .returning();
    await chains.append(rows.map(decidedEvent), decidedAt);
    return rows;
  });
}

function decidedEvent(row: CapabilityRequest) {
  if (row.state === "pending")
    throw new AirlockError("capability_not_decided", `request ${row.id} is pending`);
  return {
    runId: row.runId,
    type: "capability.decided" as const,
    data: {
      id: row.id,
      kind: row.kind,
      name: row.name,
      version: row.version,
      state: row.state,
      by: row.decidedBy ?? "unknown",
      reason: row.decisionReason,
    },
  };
}
