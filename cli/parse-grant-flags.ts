import { UsageError } from "../core/errors.ts";
import type { CapabilitySpec } from "../core/capabilities/capability-kinds.ts";
import { validateCapabilitySpec } from "../core/capabilities/validate-capability-request.ts";
import { InvalidGrantError, parseImageGrant, type ImageGrant } from "../runner/images/image-grant.ts";

/** Commander's collector for a repeatable flag: every value, in order. */
export function collectFlagValues(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `--grant kind:name[@version]` values (repeatable) as image grants. A bad value is a
 * UsageError naming the flag, the value and what it expects; nothing is fetched or built.
 */
export function parseGrantFlags(values: readonly string[] | undefined, flag = "--grant"): ImageGrant[] {
  return (values ?? []).map((value) => {
    try {
      return parseImageGrant(value);
    } catch (error) {
      if (error instanceof InvalidGrantError)
        throw new UsageError(`${flag} ${error.message}`, { cause: error });
      throw error;
    }
  });
}

/**
 * `airlock run --grant` (issue 10 §8): image grants (apt, npm, pip) as parseGrantFlags reads
 * them, and `network:<domain>` or `llm-tool:<type>` checked by the same rules as an agent's
 * request. A bad value is a UsageError naming the flag and what it expects.
 */
export function parseRunGrantFlags(values: readonly string[] | undefined): CapabilitySpec[] {
  return (values ?? []).map((value) => {
    const kind = value.slice(0, value.indexOf(":"));
    if (kind !== "network" && kind !== "llm-tool") return parseGrantFlags([value])[0] as ImageGrant;
    const checked = validateCapabilitySpec({ kind, name: value.slice(kind.length + 1) });
    if (!checked.ok) throw new UsageError(`--grant ${value}: ${checked.reason}`);
    return checked.spec;
  });
}
