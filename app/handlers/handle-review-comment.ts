import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { continuePullRequest } from "../flows/continue-pull-request.ts";
import { createDeliveryContext } from "../flows/create-delivery-context.ts";
import { reviewCommentCreatedSchema } from "../payloads/webhook-payload-schemas.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { parseAirlockCommand } from "../text/parse-airlock-command.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/** `pull_request_review_comment.created` starting with `/airlock`: a follow-up on that line of an Airlock pull request. */
export async function handleReviewComment(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(
    reviewCommentCreatedSchema,
    delivery.payload,
    "pull_request_review_comment.created",
  );
  const catalog = deps.catalog ?? agentCatalog;
  const command = parseAirlockCommand(payload.comment.body ?? "", { agentIds: catalog.map((a) => a.id) });
  if (command === undefined) return;
  const ctx = createDeliveryContext(deps, delivery, {
    action: "created",
    installationId: payload.installation.id,
    repository: payload.repository,
    sender: payload.sender,
  });
  const comment = payload.comment;
  await continuePullRequest(ctx, {
    pullNumber: payload.pull_request.number,
    headRef: payload.pull_request.head.ref,
    command,
    commentId: comment.id,
    event: "pull_request_review_comment.created",
    review: {
      path: comment.path,
      line: comment.line ?? comment.original_line ?? null,
      diffHunk: comment.diff_hunk,
    },
  });
}
