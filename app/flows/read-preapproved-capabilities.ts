import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import {
  CapabilitiesFileError,
  parseCapabilitiesFile,
} from "../../core/capabilities/parse-capabilities-file.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/**
 * The capabilities pre-approved for every run of the repository (issue 10 §5, DESIGN §6):
 * the `granted` entries of `.github/airlock/capabilities.yml` on the default branch (a
 * merged Airlock pull request leaves its decided requests there; a maintainer may write
 * entries by hand). A pull request cannot add to them: only the default branch is read.
 * A file Airlock cannot read is a problem to report, never a reason to guess.
 */
export async function readPreapprovedCapabilities(
  ctx: DeliveryContext,
): Promise<{ ok: true; grants: CapabilitySpec[] } | { ok: false; problem: string }> {
  const text = await ctx.github.readFile(ctx.repo, capabilitiesFilePath);
  if (text === undefined) return { ok: true, grants: [] };
  try {
    const grants = parseCapabilitiesFile(text)
      .filter((entry) => entry.state === "granted")
      .map((entry) => ({
        kind: entry.kind,
        name: entry.name,
        ...(entry.version !== undefined ? { version: entry.version } : {}),
      }));
    return { ok: true, grants };
  } catch (error) {
    if (error instanceof CapabilitiesFileError) return { ok: false, problem: error.message };
    throw error;
  }
}
