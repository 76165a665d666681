import { imageCheckRunName, imageReportSchema } from "../../core/capabilities/image-build-report.ts";
import { parseActionsImage } from "../../core/db/actions-image.ts";
import { findRunAwaitingWorkflow, finishRunImage } from "../../core/db/runs.ts";
import { parseStoredRepoConfig } from "../../core/repo-config/parse-stored-repo-config.ts";
import { recordDelivery } from "../runs/record-delivery.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/** GitHub's own app: the author of what a workflow's GITHUB_TOKEN writes. */
const githubActionsSlug = "github-actions";

/**
 * `workflow_run.completed` for a run awaiting its image (issue 11). The report comes from
 * the `airlock-image` check run the Action left on the approved commit, written with the
 * workflow's token (so by the github-actions app, not by anyone's personal token), its
 * external id the run, its text parsed with imageReportSchema; its grants hash must be
 * the one dispatched. Then the run is queued with the image, or, when the workflow failed
 * or its report does not fit, with the reason (the runner resumes without the new grants
 * and says so on the thread). The runner checks the image's labels again before use.
 * A workflow run no run waits for is ignored; a redelivery changes nothing.
 */
export async function collectBuiltImage(
  ctx: DeliveryContext,
  input: { workflowRunId: number; conclusion: string | null; path: string; htmlUrl: string },
): Promise<void> {
  const { db } = ctx.deps;
  const run = await findRunAwaitingWorkflow(db, ctx.repository.fullName, input.workflowRunId);
  if (!run) return;
  const log = ctx.log.child({ runId: run.id, workflowRunId: input.workflowRunId });
  const dispatched = parseActionsImage(run.actionsImage, run.id);
  const config = parseStoredRepoConfig(run.repoConfig, run.id);
  if (!dispatched || config?.images.build !== "actions") return;
  if (input.path !== `.github/workflows/${config.images.workflow}`) {
    log.warn({ path: input.path }, "workflow_run for the run's id from another workflow file; ignored");
    return;
  }
  const checks = await ctx.github.listCheckRuns(ctx.repo, dispatched.commitSha, imageCheckRunName);
  const check = checks
    .filter((c) => c.appSlug === githubActionsSlug && c.externalId === run.id)
    .sort((a, b) => b.id - a.id)[0];
  let report: ReturnType<typeof imageReportSchema.parse> | undefined;
  try {
    report = check?.outputText ? imageReportSchema.parse(JSON.parse(check.outputText)) : undefined;
  } catch (error) {
    log.warn({ err: (error as Error).message }, "the airlock-image check run's report does not parse");
  }
  let result: { state: "built"; image: string } | { state: "failed"; reason: string };
  if (input.conclusion !== "success") {
    result = {
      state: "failed",
      reason: `the image workflow ended ${input.conclusion ?? "without a conclusion"} (${input.htmlUrl})${
        report?.error ? `: ${report.error}` : ""
      }`,
    };
  } else if (!report?.image || report.runId !== run.id || report.grantsSha256 !== dispatched.grantsSha256) {
    result = {
      state: "failed",
      reason:
        `the image workflow succeeded but left no ${imageCheckRunName} check run by GitHub Actions on ` +
        `${dispatched.commitSha} reporting an image of these grants for run ${run.id} (${input.htmlUrl})`,
    };
  } else {
    result = { state: "built", image: report.image };
  }
  const moved = await finishRunImage(db, run.id, result);
  log.info({ moved, result: result.state }, "image workflow completed");
  await recordDelivery(db, { ...ctx.delivery, runId: run.id });
}
