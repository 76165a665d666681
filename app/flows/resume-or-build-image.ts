import { formatCapability } from "../../core/capabilities/format-capability.ts";
import { hashImageGrants } from "../../core/capabilities/hash-image-grants.ts";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import {
  finishRunImage,
  recordImageWorkflowRun,
  resumeDecidedRun,
  type ResumeAnswer,
} from "../../core/db/runs.ts";
import type { Run } from "../../core/db/schema.ts";
import { GitHubApiError } from "../../core/github/github-api.ts";
import { parseStoredRepoConfig } from "../../core/repo-config/parse-stored-repo-config.ts";
import { renderMissingImageWorkflow } from "../messages/render-missing-image-workflow.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { readImageWorkflowTemplate } from "./read-image-workflow-template.ts";

const imageKinds: readonly string[] = ["apt", "npm", "pip"];

/**
 * After a decision: queue the run (resumeDecidedRun), or, when the repository builds its
 * images on Actions and the run holds apt, npm or pip grants, hand the build to its
 * workflow (issue 11):
 *
 * 1. The run moves to awaiting_image with the approved commit (the pull request's head,
 *    which the maintainer approved), the grants and their hash (hashImageGrants, which the
 *    Action recomputes); no runner claims it.
 * 2. The workflow is dispatched on the default branch; GitHub's answer names its run,
 *    recorded so that workflow_run.completed finds the run.
 * 3. A dispatch GitHub refuses (no such file: 404) queues the run at once with the reason:
 *    the runner resumes without the new grants and tells the thread; a missing file also
 *    gets a `note` saying exactly what to add.
 */
export async function resumeOrBuildImage(
  ctx: DeliveryContext,
  run: Run,
  input: { headSha: () => Promise<string> },
): Promise<{ resume: ResumeAnswer; note?: string }> {
  const { db } = ctx.deps;
  const config = parseStoredRepoConfig(run.repoConfig, run.id);
  if (config?.images.build !== "actions") return { resume: await resumeDecidedRun(db, run.id) };
  const grants: CapabilitySpec[] = (await listCapabilityRequests(db, run.id))
    .filter((r) => r.state === "granted" && imageKinds.includes(r.kind))
    .map((r) => ({ kind: r.kind, name: r.name, ...(r.version ? { version: r.version } : {}) }));
  if (grants.length === 0) return { resume: await resumeDecidedRun(db, run.id) };
  const texts = [...new Set(grants.map(formatCapability))].sort();
  const grantsSha256 = hashImageGrants(grants);
  const headSha = await input.headSha();
  const resume = await resumeDecidedRun(db, run.id, {
    awaitImage: { commitSha: headSha, grants: texts, grantsSha256 },
  });
  if (!resume.resumed) return { resume };

  const { registry, workflow } = config.images;
  const slash = registry.indexOf("/");
  const log = ctx.log.child({ runId: run.id, workflow });
  try {
    const { workflowRunId } = await ctx.github.dispatchWorkflow(ctx.repo, workflow, {
      ref: ctx.repository.defaultBranch,
      inputs: {
        run_id: run.id,
        commit_sha: headSha,
        agent: run.agent ?? config.defaultAgent,
        // The operator publishes each agent image at <registry>:<agent> (README).
        base_image: `${registry}:${run.agent ?? config.defaultAgent}`,
        registry: registry.slice(0, slash),
        image: registry.slice(slash + 1),
        grants: texts.join(","),
        grants_sha256: grantsSha256,
      },
    });
    await recordImageWorkflowRun(db, run.id, workflowRunId);
    log.info({ workflowRunId, grants: texts }, "image workflow dispatched");
    return { resume };
  } catch (error) {
    if (!(error instanceof GitHubApiError)) throw error;
    const missing = error.status === 404;
    const reason = missing
      ? `.github/workflows/${workflow} is not on ${ctx.repository.defaultBranch}, so the image workflow could not start`
      : `GitHub refused to start .github/workflows/${workflow}: ${error.message}`;
    log.warn({ status: error.status, err: error.message }, "image workflow dispatch refused");
    await finishRunImage(db, run.id, { state: "failed", reason });
    if (!missing) return { resume };
    const note = renderMissingImageWorkflow({
      runId: run.id,
      workflow,
      defaultBranch: ctx.repository.defaultBranch,
      registry,
      template: await readImageWorkflowTemplate(),
    });
    return { resume, note };
  }
}
