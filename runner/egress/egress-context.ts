import type { Socket } from "node:net";
import type { Logger } from "../../core/logger.ts";
import type { BlockedAttempts } from "./blocked-attempts.ts";
import type { EgressConnectionRecord } from "./egress-connection-record.ts";
import type { EgressLimits } from "./egress-limits.ts";
import type { ResolveHost } from "./resolve-host.ts";

/** What the CONNECT and plain HTTP handlers of one run's egress proxy share. */
export interface EgressContext {
  runId: string;
  limits: EgressLimits;
  /** The run's `network:` grants, read at each request so a grant approved mid-run applies. */
  allow: () => ReadonlySet<string> | Promise<ReadonlySet<string>>;
  resolve: ResolveHost;
  /** Test-only loopback opening; see ServeEgressProxyOptions. */
  allowAddressForTests: ((address: string) => boolean) | undefined;
  logger: Logger;
  blocked: BlockedAttempts;
  /** Upstream sockets open now, destroyed by close(). */
  upstreams: Set<Socket>;
  /** True once close() began: no new upstream is opened. */
  isClosing: () => boolean;
  /** Record one finished connection (logs, and hands it to onConnection). */
  finish: (record: EgressConnectionRecord) => void;
}
