import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { continuePullRequest } from "../flows/continue-pull-request.ts";
import { reviewCommentCreatedSchema } from "../payloads/webhook-payload-schemas.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { openCommandDelivery } from "../flows/open-command-delivery.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/** `pull_request_review_comment.created` starting with `/airlock`: a follow-up on that line of an Airlock pull request. */
export async function handleReviewComment(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(
    reviewCommentCreatedSchema,
    delivery.payload,
    "pull_request_review_comment.created",
  );
  const opened = openCommandDelivery(deps, delivery, payload);
  if (opened === undefined) return;
  const { command, ctx } = opened;
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
