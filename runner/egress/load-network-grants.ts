import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import type { Db } from "../../core/db/open-database.ts";

/**
 * The run's egress allow-list: the names of its granted `network:` capability requests
 * (approved in review, or pre-approved). Read from the database each time it is asked, so
 * a grant decided while the run is paused, or between two connections, applies to the
 * next connection without restarting the proxy.
 */
export async function loadNetworkGrants(db: Db, runId: string): Promise<Set<string>> {
  const requests = await listCapabilityRequests(db, runId);
  return new Set(requests.filter((r) => r.kind === "network" && r.state === "granted").map((r) => r.name));
}
