import { UsageError } from "../core/errors.ts";
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
