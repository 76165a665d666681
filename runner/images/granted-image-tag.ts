import { createHash } from "node:crypto";
import { computeAgentImageTag } from "./agent-image-tag.ts";
import { formatImageGrant, normalizeImageGrants, type ImageGrant } from "./image-grant.ts";
import { ImageBuildError } from "./image-build-error.ts";

/**
 * The immutable tag of an agent image with grants (issue 10 §5, DESIGN §6):
 * `airlock/<agent>:<sha256 of the base image id, the agent's inputs digest and the sorted grants>`.
 *
 * - The agent's inputs digest (its Dockerfile, pins and copied files) is in it, so a new
 *   agent version never reuses the tag of an image built from the old one.
 * - Only image grants (apt, npm, pip) are hashed: `network:` and `llm-tool:` grants change
 *   no byte of the image (they are enforced by the host-side proxies per run), and hashing
 *   them would build byte-identical images under many tags.
 * - npm grants are hashed as resolved (exact version, which the registry never reuses).
 *   An unpinned apt or pip grant is hashed as asked: the image keeps whatever version the
 *   first build installed, and the SBOM delta records it.
 * - `recipeDigest` covers how the image is made from the grants: the generated Dockerfile
 *   (without its labels) and the npm tree copied in (dependencies resolve anew on each
 *   build). A new Airlock that builds grants differently, or a dependency's new release,
 *   gives a new tag instead of moving an old one to different content.
 */
export function computeGrantedImageTag(input: {
  agent: string;
  baseImageId: string;
  agentInputsDigest: string;
  grants: readonly ImageGrant[];
  recipeDigest: string;
}): string {
  // The agent id and base id are checked by the default tag's rules.
  computeAgentImageTag(input.agent, input.baseImageId, []);
  if (!/^[0-9a-f]{64}$/.test(input.agentInputsDigest)) {
    throw new ImageBuildError(`agent inputs digest must be 64 hex digits, got "${input.agentInputsDigest}"`);
  }
  if (!/^[0-9a-f]{64}$/.test(input.recipeDigest)) {
    throw new ImageBuildError(`recipe digest must be 64 hex digits, got "${input.recipeDigest}"`);
  }
  const grants = normalizeImageGrants(input.grants).map(formatImageGrant);
  if (grants.length === 0) {
    throw new ImageBuildError("a granted image needs at least one apt, npm or pip grant");
  }
  const digest = createHash("sha256")
    .update(
      JSON.stringify({
        base: input.baseImageId,
        agentInputs: input.agentInputsDigest,
        grants,
        recipe: input.recipeDigest,
      }),
    )
    .digest("hex");
  return `airlock/${input.agent}:${digest}`;
}
