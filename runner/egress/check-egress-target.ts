import type { EgressContext } from "./egress-context.ts";
import { isGrantedDomain } from "./is-granted-domain.ts";
import type { EgressTarget } from "./parse-egress-target.ts";
import { pickEgressAddress } from "./pick-egress-address.ts";

export type CheckedEgressTarget =
  | { ok: true; address: string }
  | { ok: false; status: 403 | 502 | 503; reason: string; address: string | null; askable: boolean };

/**
 * The policy every egress request passes, in order: an open port for its kind, a
 * granted name, then host-side resolution with every address checked.
 */
export async function checkEgressTarget(
  ctx: EgressContext,
  kind: "connect" | "http",
  target: EgressTarget,
): Promise<CheckedEgressTarget> {
  const ports = kind === "connect" ? ctx.limits.connectPorts : ctx.limits.httpPorts;
  if (!ports.includes(target.port)) {
    const open = ports.length > 0 ? ports.join(", ") : "none";
    const what = kind === "connect" ? "CONNECT" : "plain HTTP";
    return {
      ok: false,
      status: 403,
      address: null,
      askable: false,
      reason: `port ${target.port} is not open for ${what} (open: ${open}); the runner's operator sets the ports`,
    };
  }
  let grants: ReadonlySet<string>;
  try {
    grants = await ctx.allow();
  } catch (error) {
    ctx.logger.error({ err: error, domain: target.host }, "egress: the run's grants could not be read");
    return {
      ok: false,
      status: 503,
      address: null,
      askable: false,
      reason: "the run's network grants could not be read just now; try again",
    };
  }
  if (!isGrantedDomain(target.host, grants)) {
    return {
      ok: false,
      status: 403,
      address: null,
      askable: true,
      reason: `${target.host} is not among this run's network grants`,
    };
  }
  const picked = await pickEgressAddress(target.host, ctx.resolve, {
    timeoutMs: ctx.limits.resolveTimeoutMs,
    allowAddressForTests: ctx.allowAddressForTests,
  });
  if (!picked.ok)
    return {
      ok: false,
      status: picked.status,
      reason: picked.reason,
      address: picked.address ?? null,
      askable: false,
    };
  if (ctx.isClosing()) {
    return { ok: false, status: 503, reason: "the run is ending", address: null, askable: false };
  }
  return picked;
}
