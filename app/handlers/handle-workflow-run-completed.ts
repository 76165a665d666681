import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { collectBuiltImage } from "../flows/collect-built-image.ts";
import { createDeliveryContext } from "../flows/create-delivery-context.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { workflowRunCompletedSchema } from "../payloads/webhook-payload-schemas.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/** `workflow_run.completed`: an image workflow reported back (issue 11); any other run is ignored. */
export async function handleWorkflowRunCompleted(
  deps: AirlockAppDeps,
  delivery: WebhookDelivery,
): Promise<void> {
  const payload = parsePayload(workflowRunCompletedSchema, delivery.payload, "workflow_run.completed");
  const ctx = createDeliveryContext(deps, delivery, {
    action: "completed",
    installationId: payload.installation.id,
    repository: payload.repository,
    sender: payload.sender,
  });
  await collectBuiltImage(ctx, {
    workflowRunId: payload.workflow_run.id,
    conclusion: payload.workflow_run.conclusion,
    path: payload.workflow_run.path,
    htmlUrl: payload.workflow_run.html_url,
  });
}
