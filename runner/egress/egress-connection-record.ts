/** How one egress connection ended. */
export type EgressOutcome =
  /** Refused before any connection was made (not granted, bad address, bad port, malformed). */
  | "refused"
  /** The tunnel or forwarded request ran and ended normally. */
  | "closed"
  /** The upstream could not be reached or failed mid-way. */
  | "upstream_error"
  /** No bytes either way for the idle timeout. */
  | "idle_timeout"
  /** The run ended (the proxy was closed) while it was open. */
  | "proxy_closed";

/**
 * One connection through the egress proxy, handed to `onConnection` when it ends.
 * `bytesOut` counts what the sandbox sent out (client → upstream), `bytesIn` what came
 * back (upstream → client), both as bytes on the upstream socket: the TLS bytes of a
 * tunnel, the request and response (head and body) of plain HTTP.
 */
export interface EgressConnectionRecord {
  runId: string;
  kind: "connect" | "http";
  /** The name asked for (the raw target, clipped, when it was no valid name). */
  domain: string;
  port: number | null;
  /** The checked address connected to; null when refused before resolution. */
  address: string | null;
  bytesOut: number;
  bytesIn: number;
  durationMs: number;
  outcome: EgressOutcome;
  /** Why it was refused or failed; null when it closed normally. */
  reason: string | null;
  /** HTTP status the proxy answered with (200 for an opened tunnel). */
  status: number;
  startedAt: Date;
}
