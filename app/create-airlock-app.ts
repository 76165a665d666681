import type { Probot } from "probot";
import type { AirlockAppDeps } from "./airlock-app-deps.ts";
import { handleInstallation } from "./handlers/handle-installation.ts";
import { handleIssueComment } from "./handlers/handle-issue-comment.ts";
import { handleIssueLabeled } from "./handlers/handle-issue-labeled.ts";
import { handleReviewComment } from "./handlers/handle-review-comment.ts";
import { handleReviewSubmitted } from "./handlers/handle-review-submitted.ts";
import type { WebhookDelivery } from "./handlers/webhook-delivery.ts";
import { handleWorkflowRunCompleted } from "./handlers/handle-workflow-run-completed.ts";

export type { AirlockAppDeps } from "./airlock-app-deps.ts";

type Handler = (deps: AirlockAppDeps, delivery: WebhookDelivery) => Promise<void>;

/** The Probot app: it only registers listeners; each handler lives in app/handlers/. */
export function createAirlockApp(deps: AirlockAppDeps): (app: Probot) => void {
  return (app) => {
    const on = (handler: Handler) => async (context: WebhookDelivery) => {
      try {
        await handler(deps, {
          id: context.id,
          name: context.name,
          payload: context.payload,
          octokit: context.octokit,
        });
      } catch (error) {
        // Rethrown so that Probot answers 500 and GitHub shows the failed delivery; the
        // message carries ids only (payloads are never logged).
        const repo = (context.payload as { repository?: { full_name?: unknown } }).repository?.full_name;
        deps.logger.error(
          { deliveryId: context.id, event: context.name, repo, err: (error as Error).message },
          "webhook handler failed",
        );
        throw error;
      }
    };
    app.on("issues.labeled", on(handleIssueLabeled));
    app.on("issue_comment.created", on(handleIssueComment));
    app.on("pull_request_review_comment.created", on(handleReviewComment));
    app.on("pull_request_review.submitted", on(handleReviewSubmitted));
    app.on("workflow_run.completed", on(handleWorkflowRunCompleted));
    app.on(["installation.created", "installation_repositories.added"], on(handleInstallation));
  };
}
