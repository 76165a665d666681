import { findAllAuditData } from "../audit/find-all-audit-data.ts";
import type { StoredAuditEntry } from "../audit/parse-stored-audit-data.ts";

/** A granted domain the agent reached, with what moved. */
export interface EgressDomainUse {
  domain: string;
  connections: number;
  /** Sandbox → world. */
  bytesOut: number;
  /** World → sandbox. */
  bytesIn: number;
}

/** A domain the agent tried and was refused, over every segment of the run. */
export interface EgressDomainBlock {
  domain: string;
  attempts: number;
  /** Each distinct reason, in the order first recorded. */
  reasons: string[];
}

export interface EgressSummary {
  /** Most bytes first. */
  used: EgressDomainUse[];
  /** Most attempts first. */
  blocked: EgressDomainBlock[];
}

/**
 * The run's egress from its ledger (issue 10 §9): granted domains used, from the
 * `egress.connection` entries that were not refused, and blocked domains, from the
 * `egress.blocked` entries (one per distinct refusal per segment of the run; a run that
 * paused and resumed has one set per segment, so attempts are summed by domain).
 */
export function summarizeEgress(audit: readonly StoredAuditEntry[]): EgressSummary {
  const used = new Map<string, EgressDomainUse>();
  for (const c of findAllAuditData(audit, "egress.connection")) {
    if (c.outcome === "refused") continue;
    const use = used.get(c.domain) ?? { domain: c.domain, connections: 0, bytesOut: 0, bytesIn: 0 };
    use.connections += 1;
    use.bytesOut += c.bytesOut;
    use.bytesIn += c.bytesIn;
    used.set(c.domain, use);
  }
  const blocked = new Map<string, EgressDomainBlock>();
  for (const b of findAllAuditData(audit, "egress.blocked")) {
    const block = blocked.get(b.domain) ?? { domain: b.domain, attempts: 0, reasons: [] };
    block.attempts += b.attempts;
    if (!block.reasons.includes(b.reason)) block.reasons.push(b.reason);
    blocked.set(b.domain, block);
  }
  return {
    used: [...used.values()].sort(
      (a, b) => b.bytesOut + b.bytesIn - (a.bytesOut + a.bytesIn) || a.domain.localeCompare(b.domain),
    ),
    blocked: [...blocked.values()].sort(
      (a, b) => b.attempts - a.attempts || a.domain.localeCompare(b.domain),
    ),
  };
}
