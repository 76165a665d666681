import type { CapabilityRequest } from "../db/schema.ts";
import type { CapabilitiesFileEntry } from "./capabilities-file-entry.ts";

/**
 * A stored request as a capabilities.yml entry. `resolvedVersion` is the exact version the
 * host resolved (the facts); without it, the version the agent asked for is written only
 * when it is already exact enough to stand (pip pins are; npm ranges are left out).
 */
export function toCapabilitiesFileEntry(
  row: CapabilityRequest,
  resolvedVersion?: string,
): CapabilitiesFileEntry {
  const version = resolvedVersion ?? (row.kind === "pip" ? (row.version ?? undefined) : undefined);
  return {
    kind: row.kind,
    name: row.name,
    ...(version !== undefined ? { version } : {}),
    reason: row.reason,
    run: row.runId,
    state: row.state,
    ...(row.decidedBy !== null ? { decided_by: row.decidedBy } : {}),
    ...(row.decidedAt !== null ? { decided_at: row.decidedAt.toISOString() } : {}),
    ...(row.decisionReason !== null ? { decision_reason: row.decisionReason } : {}),
  };
}
