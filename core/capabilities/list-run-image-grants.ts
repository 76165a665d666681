import type { CapabilitiesFileEntry } from "./capabilities-file-entry.ts";
import type { CapabilitySpec } from "./capability-kinds.ts";

const imageKinds: readonly string[] = ["apt", "npm", "pip"];

/**
 * The image grants (apt, npm, pip) a run's branch file holds for that run as approved at
 * `commit` (issue 11): the run's entries that are granted, or pending at the commit the
 * maintainer approved (the file on the branch is rewritten with the decision only when
 * the run resumes). Denied, failed and timed-out entries, other runs' entries and
 * `network:` / `llm-tool:` grants (which change no image) are left out.
 */
export function listRunImageGrants(
  entries: readonly CapabilitiesFileEntry[],
  runId: string,
): CapabilitySpec[] {
  return entries
    .filter((e) => e.run === runId && imageKinds.includes(e.kind))
    .filter((e) => e.state === "granted" || e.state === "pending")
    .map((e) => ({ kind: e.kind, name: e.name, ...(e.version ? { version: e.version } : {}) }));
}
