/**
 * What an agent may ask for (DESIGN §6, issue 10 §1): `apt:<package>`,
 * `npm:<package>[@version]`, `pip:<package>[==version]`, `network:<domain>`,
 * `llm-tool:<hosted tool type>`.
 */
export const capabilityKinds = ["apt", "npm", "pip", "network", "llm-tool"] as const;
export type CapabilityKind = (typeof capabilityKinds)[number];

/**
 * A request's life: `pending` until a maintainer decides; `granted` or `denied` by a
 * person; `failed` when the rebuild that would grant it failed; `timed_out` after the
 * repository's approval_timeout.
 */
export const capabilityStates = ["pending", "granted", "denied", "failed", "timed_out"] as const;
export type CapabilityState = (typeof capabilityStates)[number];

/** One capability, as validated: `name` is normalised (pip per PEP 503, domains lowercased). */
export interface CapabilitySpec {
  kind: CapabilityKind;
  name: string;
  /** Only npm (exact version or range) and pip (exact `==` pin) take one. */
  version?: string | undefined;
}

/** The result of checking one part of a request: the cleaned value, or the field and why it is refused. */
export type CapabilityCheck<T> =
  ({ ok: true } & T) | { ok: false; field: "body" | "kind" | "name" | "version" | "reason"; reason: string };

export function isCapabilityKind(value: string): value is CapabilityKind {
  return (capabilityKinds as readonly string[]).includes(value);
}
