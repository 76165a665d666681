import { z } from "zod";
import { capabilityKinds, capabilityStates } from "../capabilities/capability-kinds.ts";
import { isTerminalRunState, runStates } from "../run-states.ts";

/**
 * Every ledger event type and the shape of its data (DESIGN §8): the one place a reader
 * or a writer learns what an entry holds. appendAuditEvent refuses a type not listed here
 * and data that does not fit (extra fields too: what is hashed is what was meant), and
 * readers parse with the same schema (readAuditData) instead of casting.
 *
 * Changing a shape: entries already signed keep their old data, so a field a reader
 * needs must stay readable in its old form (optional, or a union), never be renamed.
 */
const text = z.string();
const count = z.number().int().nonnegative();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase sha256 hex digest");
const runOutcome = z.enum(runStates).refine(isTerminalRunState, "a terminal run state");
/** Paths the relay reports; loose so a report may grow (the secret scan adds its rule). */
const pathReport = z.looseObject({ path: text, reason: text });

export const auditEventSchemas = {
  /** The app recorded a GitHub run (one transaction with the delivery and the run). */
  "run.requested": z.strictObject({
    trigger: z.strictObject({
      event: z.enum([
        "issues.labeled",
        "issue_comment.created",
        "pull_request_review_comment.created",
        "retry",
        "reclaim",
      ]),
      kind: z.enum(["label", "command", "follow_up", "retry"]),
      sender: text,
      commentId: z.number().int().optional(),
      reviewComment: z.boolean().optional(),
    }),
    sender: text,
    agent: text,
    model: text,
    issue: count,
    repo: text,
    budget: z.strictObject({ usd: z.number().nonnegative(), tokens: count }),
    deliveryId: text,
    followUpOf: text.optional(),
    pull: count.optional(),
  }),
  /** `airlock run` recorded a local run. */
  "run.started": z.strictObject({
    kind: z.literal("local"),
    agent: text,
    repo: text,
    model: text,
    budgetUsd: z.number().nonnegative().nullable(),
    budgetTokens: count.nullable(),
    timeoutS: z.number().positive(),
    runner: text,
  }),
  "run.claimed": z.strictObject({ attempt: count, runner: text }),
  /** An earlier runner died mid-run; this one starts it again. */
  "run.reclaimed": z.strictObject({ attempt: count, runner: text, removedContainers: count }),
  "run.cancel_requested": z.strictObject({ by: text }),
  "run.stop_seen": z.strictObject({ by: text.nullable(), runner: text }),
  "run.error": z.strictObject({ reason: text }),
  "run.finished": z.strictObject({ outcome: runOutcome, reason: text }),
  /**
   * The agent stopped with capability requests pending (issue 10 §2): the run parks in
   * awaiting_approval. `pending` are the request ids; `state` the saved agent state.
   */
  "run.paused": z.strictObject({
    segment: count,
    pending: z.array(z.number().int().positive()),
    state: z.strictObject({ bytes: count, files: count, sha256: sha256Hex, skipped: count }).nullable(),
    deadline: text.nullable(),
  }),
  /** A new container continues the run after the decisions (issue 10 §6), with the saved state restored. */
  "run.resumed": z.strictObject({
    segment: count,
    runner: text,
    restored: z.strictObject({ bytes: count, files: count }).nullable(),
    decisions: z.array(
      z.strictObject({
        id: z.number().int().positive(),
        state: z.enum(capabilityStates),
        by: text.nullable(),
      }),
    ),
  }),
  "workspace.prepared": z.strictObject({ baseCommit: text, defaultBranch: text }),
  /**
   * The image the agent runs in. With grants (issue 10 §5, §8: `airlock run --grant`), the
   * image grants it was built with, who approved them, and the packages the rebuild added.
   */
  "image.ready": z.strictObject({
    ref: text,
    id: text,
    grants: z
      .array(z.strictObject({ kind: z.enum(["apt", "npm", "pip"]), name: text, version: text.optional() }))
      .optional(),
    grantedBy: text.optional(),
    sbomDelta: z
      .strictObject({
        dpkg: z.array(z.strictObject({ name: text, version: text })),
        npm: z.array(
          z.strictObject({
            name: text,
            version: text,
            integrity: text,
            license: text.optional(),
            hasInstallScript: z.boolean(),
          }),
        ),
        pip: z.array(z.strictObject({ name: text, version: text })),
      })
      .optional(),
  }),
  /**
   * One proxied call, chained by the call recorder in the transaction that stores its
   * llm_calls row. The digests are over the stored (redacted) bodies' UTF-8 bytes, so
   * `sha256(request_body)` of the row must match; null when the row has no body.
   */
  "llm.call": z.strictObject({
    id: z.number().int().positive(),
    attempt: count,
    provider: text,
    model: text.nullable(),
    endpoint: text,
    status: z.number().int(),
    refusal: text.nullable(),
    inputTokens: count,
    outputTokens: count,
    cacheReadTokens: count,
    cacheCreationTokens: count,
    costUsd: text,
    priced: z.boolean(),
    clientAborted: z.boolean(),
    requestSha256: sha256Hex.nullable(),
    responseSha256: sha256Hex.nullable(),
  }),
  "sandbox.exit": z.strictObject({
    reason: z.enum(["exited", "deadline", "oom_killed", "output_capped", "cancelled"]),
    exitCode: z.number().int().nullable(),
    durationMs: z.number().nonnegative(),
    containerId: text,
    limits: z.strictObject({
      memoryMb: z.number(),
      cpus: z.number(),
      pids: z.number(),
      timeoutS: z.number(),
      tmpfsMb: z.number(),
      outputCapBytes: z.number(),
    }),
  }),
  "agent.summary": z.strictObject({ text }),
  /**
   * One connection through the run's egress proxy (runner/egress), refused or not.
   * bytesOut is what the sandbox sent out, bytesIn what came back; address is the checked
   * address connected to (null when refused before resolution).
   */
  "egress.connection": z.strictObject({
    kind: z.enum(["connect", "http"]),
    domain: text,
    port: z.number().int().min(1).max(65535).nullable(),
    address: text.nullable(),
    bytesOut: count,
    bytesIn: count,
    durationMs: count,
    outcome: z.enum(["refused", "closed", "upstream_error", "idle_timeout", "proxy_closed"]),
    reason: text.nullable(),
    status: z.number().int(),
    startedAt: z.iso.datetime(),
  }),
  /** A distinct egress refusal (domain, port, reason) with how often the agent tried it. */
  "egress.blocked": z.strictObject({
    domain: text,
    port: z.number().int().min(1).max(65535).nullable(),
    reason: text,
    attempts: z.number().int().positive(),
    firstAt: z.iso.datetime(),
    lastAt: z.iso.datetime(),
  }),
  "relay.started": z.strictObject({ branch: text, baseCommit: text }),
  "relay.committed": z.strictObject({
    branch: text,
    commit: text.nullable(),
    /** The head named by the commit's `Airlock-Audit:` trailer: the `relay.started` entry. */
    auditHeadInTrailer: sha256Hex.nullable(),
    filesChanged: z.array(z.looseObject({ path: text, change: text })),
    heldBack: z.array(pathReport),
    refused: z.array(pathReport),
    refusedOmitted: count,
  }),
  "relay.pushed": z.strictObject({ branch: text, commit: text, remoteRef: text }),
  "relay.skipped": z.strictObject({ reason: text }),
  "relay.failed": z.strictObject({ reason: text, keptIn: text }),
  /**
   * The agent asked for a capability (issue 10 §1): `outcome` says whether it opened a
   * new request or merged into a pending one (the row keeps the newest version and reason).
   */
  "capability.requested": z.strictObject({
    id: z.number().int().positive(),
    kind: z.enum(capabilityKinds),
    name: text,
    version: text.nullable(),
    reason: text,
    outcome: z.enum(["created", "merged"]),
  }),
  /** A pending request was decided: by a person, a pre-approval, a failed rebuild or the approval timeout. */
  "capability.decided": z.strictObject({
    id: z.number().int().positive(),
    kind: z.enum(capabilityKinds),
    name: text,
    version: text.nullable(),
    state: z.enum(capabilityStates).exclude(["pending"]),
    by: text,
    reason: text.nullable(),
  }),
} as const;

export type AuditEventType = keyof typeof auditEventSchemas;
/** What a writer passes (before defaults). */
export type AuditEventData<T extends AuditEventType> = z.input<(typeof auditEventSchemas)[T]>;
/** What a reader gets back. */
export type ParsedAuditEventData<T extends AuditEventType> = z.output<(typeof auditEventSchemas)[T]>;

export function isAuditEventType(type: string): type is AuditEventType {
  return Object.hasOwn(auditEventSchemas, type);
}
