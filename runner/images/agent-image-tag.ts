import { createHash } from "node:crypto";
import { ImageBuildError } from "./image-build-error.ts";

/**
 * The immutable tag of an agent image (DESIGN §6): `airlock/<agent>:<sha256>` of the
 * base image's id and the sorted, de-duplicated capabilities (`apt:jq`, `npm:x@1`, …).
 * The same inputs always give the same tag, so an image is never rebuilt in place.
 */
export function computeAgentImageTag(
  agent: string,
  baseImageId: string,
  capabilities: readonly string[],
): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(agent) || agent === "base") {
    throw new ImageBuildError(
      `agent id "${agent}" must be lower-case letters, digits, "-" or "_" (and not "base"), as it names the image`,
    );
  }
  if (!/^sha256:[0-9a-f]{64}$/.test(baseImageId)) {
    throw new ImageBuildError(`base image id must be sha256:<64 hex>, got "${baseImageId}"`);
  }
  const sorted = [...new Set(capabilities)].sort();
  const digest = createHash("sha256")
    .update(JSON.stringify({ base: baseImageId, capabilities: sorted }))
    .digest("hex");
  return `airlock/${agent}:${digest}`;
}
