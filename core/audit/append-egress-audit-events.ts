import type { Db } from "../db/open-database.ts";
import { AirlockError } from "../errors.ts";
import type { AuditEventData } from "./audit-event-schemas.ts";
import { lockAuditChains, type AuditEntry, type PendingAuditEvent } from "./lock-audit-chains.ts";

/** A finished egress connection as the egress proxy reports it (runner/egress EgressConnectionRecord). */
export type EgressConnectionInput = Omit<AuditEventData<"egress.connection">, "startedAt"> & {
  startedAt: Date;
};

/** A distinct blocked attempt as the egress proxy collects it (runner/egress BlockedAttempt). */
export type EgressBlockedInput = Omit<AuditEventData<"egress.blocked">, "firstAt" | "lastAt"> & {
  firstAt: Date;
  lastAt: Date;
};

export interface AppendEgressAuditEventsInput {
  runId: string;
  /** AIRLOCK_TOKEN_SECRET, as for appendAuditEvent. */
  secret: string;
  connections?: readonly EgressConnectionInput[];
  blocked?: readonly EgressBlockedInput[];
  at?: Date;
}

/**
 * Chain a run's egress records in one transaction, in the order given: `egress.connection`
 * for connections, then `egress.blocked` for each distinct refusal. The egress proxy knows
 * no database; its caller passes its onConnection records here (batched, so a busy tunnel
 * user does not take the run's chain lock per connection) and its blocked() list once,
 * when the run ends. Only the listed fields are taken: the data is exactly what is hashed.
 */
export async function appendEgressAuditEvents(
  db: Db,
  input: AppendEgressAuditEventsInput,
): Promise<AuditEntry[]> {
  const events: PendingAuditEvent[] = [
    ...(input.connections ?? []).map((c): PendingAuditEvent => ({
      runId: input.runId,
      type: "egress.connection",
      data: {
        kind: c.kind,
        domain: c.domain,
        port: c.port,
        address: c.address,
        bytesOut: c.bytesOut,
        bytesIn: c.bytesIn,
        durationMs: Math.round(c.durationMs),
        outcome: c.outcome,
        reason: c.reason,
        status: c.status,
        startedAt: c.startedAt.toISOString(),
      },
    })),
    ...(input.blocked ?? []).map((b): PendingAuditEvent => ({
      runId: input.runId,
      type: "egress.blocked",
      data: {
        domain: b.domain,
        port: b.port,
        reason: b.reason,
        attempts: b.attempts,
        firstAt: b.firstAt.toISOString(),
        lastAt: b.lastAt.toISOString(),
      },
    })),
  ];
  if (events.length === 0) return [];
  return db.transaction(async (tx) => {
    const chains = await lockAuditChains(tx, [input.runId], input.secret);
    if (!chains.has(input.runId)) {
      throw new AirlockError("audit_write_failed", `egress audit: run ${input.runId} does not exist`);
    }
    return chains.append(events, input.at);
  });
}
