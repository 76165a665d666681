import { lookup } from "node:dns/promises";
import { AirlockError } from "../../core/errors.ts";

/** Host-side name resolution: every address a name has. */
export type ResolveHost = (host: string) => Promise<string[]>;

/**
 * Resolve on the host with the system resolver (getaddrinfo, as every other program on
 * the runner would), all addresses, in the order given. The sandbox has no DNS of its
 * own; the proxy resolves so that what it checks is what it connects to.
 */
export async function resolveHost(host: string): Promise<string[]> {
  try {
    const found = await lookup(host, { all: true, verbatim: true });
    return found.map((a) => a.address);
  } catch (error) {
    throw new AirlockError("egress_resolve_failed", `could not resolve ${host}`, { cause: error });
  }
}
