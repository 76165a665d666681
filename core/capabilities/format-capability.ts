import type { CapabilitySpec } from "./capability-kinds.ts";

/** `kind:name[@version]` (pip: `==version`), the form DESIGN §6 and `airlock run --grant` use. */
export function formatCapability(spec: CapabilitySpec): string {
  if (spec.version === undefined) return `${spec.kind}:${spec.name}`;
  return `${spec.kind}:${spec.name}${spec.kind === "pip" ? "==" : "@"}${spec.version}`;
}
