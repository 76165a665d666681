import { z } from "zod";
import { capabilityKinds, capabilityStates } from "./capability-kinds.ts";

/** Where the capabilities a run asked for are kept, on its branch and (pre-approved) on the default branch. */
export const capabilitiesFilePath = ".github/airlock/capabilities.yml";

/**
 * One entry of `.github/airlock/capabilities.yml` (issue 10 §2): what was asked, by which
 * run and why, and what became of it. Keys are snake_case, as a maintainer reads them.
 * `version` is the exact version the host resolved (apt candidate, npm resolved range, pip
 * pin), not necessarily what the agent typed.
 */
export const capabilitiesFileEntrySchema = z.strictObject({
  kind: z.enum(capabilityKinds),
  name: z.string().min(1),
  version: z.string().min(1).optional(),
  reason: z.string().min(1),
  /** The run that asked; absent for a grant a maintainer wrote by hand. */
  run: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "a run id (lowercase letters, digits, _ and -)")
    .optional(),
  state: z.enum(capabilityStates),
  /** GitHub login, or `pre-approved`; absent while pending. */
  decided_by: z.string().min(1).optional(),
  /** ISO 8601 time of the decision. */
  decided_at: z.iso.datetime({ offset: true }).optional(),
  decision_reason: z.string().min(1).optional(),
});
export type CapabilitiesFileEntry = z.infer<typeof capabilitiesFileEntrySchema>;
