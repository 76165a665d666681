import { createHash } from "node:crypto";
import type { CapabilitySpec } from "./capability-kinds.ts";
import { formatCapability } from "./format-capability.ts";

/**
 * The content hash of a set of image grants (issue 11): sha256 (hex) of the JSON array of
 * their canonical texts (`apt:jq`, `npm:left-pad@1.3.0`, `pip:requests==2.32.3`),
 * de-duplicated and sorted by code unit. The app puts it in the workflow dispatch of the
 * grants it approved; the Action (action/src/) recomputes it from the capabilities file
 * at the dispatched commit and refuses to build when the two differ. Both import this one
 * function, so they cannot drift apart. Names must already be normalised (the capability
 * parsers do: pip per PEP 503).
 */
export function hashImageGrants(grants: readonly CapabilitySpec[]): string {
  const texts = [...new Set(grants.map(formatCapability))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(texts)).digest("hex");
}
