import { decideCapabilityRequest } from "../../core/db/capability-requests.ts";
import type { ProxyHarness } from "../helpers/start-proxy-harness.ts";

/** A maintainer (`by`) denies capability request `id` of a harness run, saying why. */
export async function denyCapabilityRequest(
  h: Pick<ProxyHarness, "database" | "tokenSecret">,
  runId: string,
  id: number,
  by: string,
  reason: string,
): Promise<void> {
  await decideCapabilityRequest(h.database.db, {
    runId,
    id,
    state: "denied",
    by,
    reason,
    secret: h.tokenSecret,
  });
}
