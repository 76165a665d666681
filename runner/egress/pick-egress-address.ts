import { classifyAddress } from "./classify-address.ts";
import type { ResolveHost } from "./resolve-host.ts";

export type PickedAddress =
  { ok: true; address: string } | { ok: false; status: 403 | 502; reason: string; address?: string };

/**
 * Resolve a granted name on the host and choose the address to connect to. Every
 * address the name has is checked, and one refused address refuses the name: a name
 * that mixes public and internal addresses is how DNS rebinding reaches the inside, and
 * picking "the good one" would leave the choice to whoever controls its records. The
 * caller connects to the returned address, never to the name again, so there is no
 * second lookup for an attacker's DNS to answer differently.
 *
 * `allowAddressForTests` is for tests only (their servers listen on loopback): an address
 * it accepts skips the classifier. Production wiring never sets it.
 */
export async function pickEgressAddress(
  host: string,
  resolve: ResolveHost,
  options: { timeoutMs: number; allowAddressForTests?: ((address: string) => boolean) | undefined },
): Promise<PickedAddress> {
  const { allowAddressForTests } = options;
  let addresses: string[];
  let timer: NodeJS.Timeout | undefined;
  try {
    addresses = await Promise.race([
      resolve(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), options.timeoutMs);
      }),
    ]);
  } catch {
    return { ok: false, status: 502, reason: `${host} could not be resolved on the runner's host` };
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) {
    return { ok: false, status: 502, reason: `${host} has no addresses` };
  }
  for (const address of addresses) {
    if (allowAddressForTests?.(address)) continue;
    const verdict = classifyAddress(address);
    if (!verdict.allowed) {
      return {
        ok: false,
        status: 403,
        address,
        reason: `${host} resolves to ${address}, which is ${verdict.reason}; such addresses are never reachable through the egress proxy`,
      };
    }
  }
  return { ok: true, address: addresses[0] as string };
}
