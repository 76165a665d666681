import type { Db } from "../../core/db/open-database.ts";
import type { Logger } from "../../core/logger.ts";
import { batchEgressAudit } from "./batch-egress-audit.ts";
import type { BlockedAttempt } from "./blocked-attempts.ts";
import type { EgressLimitsInput } from "./egress-limits.ts";
import { loadNetworkGrants } from "./load-network-grants.ts";
import type { ResolveHost } from "./resolve-host.ts";
import { serveEgressProxy } from "./serve-egress-proxy.ts";

/**
 * TEST ONLY: how a test reaches its own servers on loopback through a run's egress proxy.
 * `resolve` answers for the names it makes up, `allowAddress` lets the addresses it
 * accepts past the private/loopback check. Production wiring never sets either.
 */
export interface EgressTestHooks {
  resolve?: ResolveHost | undefined;
  allowAddress?: ((address: string) => boolean) | undefined;
}

export interface ServeRunEgressOptions {
  db: Db;
  runId: string;
  /** `<socketDir>/egress.sock`, which the sandbox reaches through the bridge's second port. */
  socketPath: string;
  /** AIRLOCK_TOKEN_SECRET, for the audit entries' HMACs. */
  secret: string;
  logger: Logger;
  limits?: EgressLimitsInput | undefined;
  forTests?: EgressTestHooks | undefined;
}

export interface ServedRunEgress {
  /** Every distinct refusal so far. */
  blocked(): BlockedAttempt[];
  /**
   * Close every connection, then chain the last connection records and the blocked
   * attempts in the run's ledger; rejects when some of them could not be chained.
   */
  close(): Promise<void>;
}

/**
 * The egress proxy of one sandboxed segment of a run (issue 10 §7), served whether or not
 * the run holds a `network:` grant, so every attempt to reach out is answered (why, and how
 * to ask) and recorded. The allow-list is the run's granted `network:` requests, read per
 * connection; each connection is chained as `egress.connection` (batched), and the
 * distinct refusals as `egress.blocked` when the segment ends.
 */
export async function serveRunEgress(options: ServeRunEgressOptions): Promise<ServedRunEgress> {
  const { db, runId, logger } = options;
  const audit = batchEgressAudit(db, { runId, secret: options.secret, logger });
  const proxy = await serveEgressProxy({
    socketPath: options.socketPath,
    runId,
    logger,
    allow: () => loadNetworkGrants(db, runId),
    onConnection: (record) => audit.add(record),
    limits: options.limits,
    resolve: options.forTests?.resolve,
    allowAddressForTests: options.forTests?.allowAddress,
  });
  let closed: Promise<void> | undefined;
  return {
    blocked: () => proxy.blocked(),
    close: () => {
      closed ??= proxy.close().then(() => audit.close(proxy.blocked()));
      return closed;
    },
  };
}
