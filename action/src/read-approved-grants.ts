import { formatCapability } from "../../core/capabilities/format-capability.ts";
import { hashImageGrants } from "../../core/capabilities/hash-image-grants.ts";
import { listRunImageGrants } from "../../core/capabilities/list-run-image-grants.ts";
import { parseCapabilitiesFile } from "../../core/capabilities/parse-capabilities-file.ts";
import { formatImageGrant, normalizeImageGrants, type ImageGrant } from "../../runner/images/image-grant.ts";
import { ActionError } from "./action-error.ts";

/**
 * The grants to build, checked against what was approved (issue 11):
 *
 * 1. The dispatched list must hash (hashImageGrants, the app's own function) to the
 *    dispatched `grants_sha256`: the inputs were not edited on their way.
 * 2. Each grant must stand, as asked or granted for this run, in the capabilities file at
 *    the dispatched commit, with the same version: a file changed after the approval, or
 *    a dispatch naming something never asked for, is refused, grant by grant, and nothing
 *    is built.
 */
export function readApprovedGrants(input: {
  fileText: string;
  runId: string;
  grants: readonly ImageGrant[];
  grantsSha256: string;
  where: string;
}): ImageGrant[] {
  const grants = normalizeImageGrants(input.grants);
  const hash = hashImageGrants(grants);
  if (hash !== input.grantsSha256) {
    throw new ActionError(
      "grants_refused",
      `the grants ${grants.map(formatImageGrant).join(", ")} hash to ${hash}, not to the dispatched grants_sha256 ` +
        `${input.grantsSha256}: refusing to build grants nobody approved`,
      { input: "grants_sha256" },
    );
  }
  let inFile: Set<string>;
  try {
    inFile = new Set(
      listRunImageGrants(parseCapabilitiesFile(input.fileText), input.runId).map(formatCapability),
    );
  } catch (error) {
    throw new ActionError("grants_refused", `${input.where}: ${(error as Error).message}`, { cause: error });
  }
  const refused = grants.map(formatImageGrant).filter((text) => !inFile.has(text));
  if (refused.length > 0) {
    throw new ActionError(
      "grants_refused",
      `refused ${refused.join(", ")}: not asked for run ${input.runId} in ${input.where} ` +
        `(it lists ${[...inFile].join(", ") || "no image grant for this run"}); the approval covers the file as it ` +
        `was at the approved commit, so a changed file needs a new approval`,
    );
  }
  return grants;
}
