import { z } from "zod";

/** The name of the check run the Action leaves on the dispatched commit. */
export const imageCheckRunName = "airlock-image";

/**
 * What the Action (action/src/) reports back to Airlock (issue 11), as the `text` of its check run on
 * the dispatched commit (`external_id` = the run id). The app reads it when
 * `workflow_run.completed` arrives and parses it with this schema: it comes from a
 * workflow, so it is checked, not trusted, and the runner checks the image's labels again.
 */
export const imageReportSchema = z.strictObject({
  runId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
  grantsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** `registry/repository:tag@sha256:<64 hex>`; absent when the Action refused or failed. */
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.:/_-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha256:[0-9a-f]{64}$/)
    .optional(),
  /** Why nothing was built, for the review thread. */
  error: z.string().max(2000).optional(),
});
export type ImageReport = z.infer<typeof imageReportSchema>;
