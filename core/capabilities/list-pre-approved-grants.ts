import type { CapabilitiesFileEntry } from "./capabilities-file-entry.ts";
import type { CapabilitySpec } from "./capability-kinds.ts";

/**
 * The grants a capabilities.yml on the default branch pre-approves (DESIGN §6): its
 * granted entries, one per kind and name (the last entry wins, as in a file edited over
 * time). Pending, denied, failed and timed-out entries grant nothing.
 */
export function listPreApprovedGrants(entries: readonly CapabilitiesFileEntry[]): CapabilitySpec[] {
  const grants = new Map<string, CapabilitySpec>();
  for (const entry of entries) {
    const key = `${entry.kind}:${entry.name}`;
    if (entry.state !== "granted") {
      grants.delete(key);
      continue;
    }
    grants.set(key, {
      kind: entry.kind,
      name: entry.name,
      ...(entry.version ? { version: entry.version } : {}),
    });
  }
  return [...grants.values()];
}
