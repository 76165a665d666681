import { z } from "zod";
import { AirlockError } from "../errors.ts";

/**
 * `runs.actions_image` (issue 11): the image build the app handed to the repository's
 * workflow for one segment of a run, and its result. `dispatched` while the run is
 * awaiting_image; `built` with the pushed `registry/repo:tag@sha256:…` or `failed` with
 * why, once `workflow_run.completed` came back (the run is queued again either way).
 */
export const actionsImageSchema = z.strictObject({
  /** The segment the image is for: a later segment builds again. */
  segment: z.number().int().nonnegative(),
  state: z.enum(["dispatched", "built", "failed"]),
  /** From GitHub's answer to the dispatch; null until it answered. */
  workflowRunId: z.number().int().positive().nullable(),
  /** The approved commit whose capabilities file the Action checks. */
  commitSha: z.string().regex(/^[0-9a-f]{40}$/),
  /** Canonical texts (`apt:jq`), sorted; what the image must carry. */
  grants: z.array(z.string().min(1)).min(1),
  grantsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  image: z
    .string()
    .regex(/@sha256:[0-9a-f]{64}$/)
    .optional(),
  reason: z.string().min(1).optional(),
});
export type ActionsImage = z.infer<typeof actionsImageSchema>;

/** The stored value parsed (undefined for none); a value that does not fit is an error naming the run. */
export function parseActionsImage(stored: unknown, runId: string): ActionsImage | undefined {
  if (stored === null || stored === undefined) return undefined;
  const parsed = actionsImageSchema.safeParse(stored);
  if (parsed.success) return parsed.data;
  throw new AirlockError(
    "invalid_actions_image",
    `run ${runId}'s actions_image is not valid (${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`,
    { cause: parsed.error },
  );
}
