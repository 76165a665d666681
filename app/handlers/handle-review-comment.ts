import { findCapabilityRequestByReviewComment } from "../../core/db/capability-requests.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { createDeliveryContext } from "../flows/create-delivery-context.ts";
import { decideCapabilityThread } from "../flows/decide-capability-thread.ts";
import { parseCapabilityDecision } from "../text/parse-capability-decision.ts";
import { continuePullRequest } from "../flows/continue-pull-request.ts";
import { reviewCommentCreatedSchema } from "../payloads/webhook-payload-schemas.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { openCommandDelivery } from "../flows/open-command-delivery.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/**
 * `pull_request_review_comment.created`: `/approve` or `/deny <why>` replied in the thread
 * of a capability request decides it (issue 10 §4); `/airlock …` is a follow-up on that
 * line of an Airlock pull request. Anything else is ignored.
 */
export async function handleReviewComment(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(
    reviewCommentCreatedSchema,
    delivery.payload,
    "pull_request_review_comment.created",
  );
  const threadId = payload.comment.in_reply_to_id ?? undefined;
  const decision = threadId === undefined ? undefined : parseCapabilityDecision(payload.comment.body ?? "");
  if (threadId !== undefined && decision !== undefined) {
    const request = await findCapabilityRequestByReviewComment(deps.db, {
      reviewCommentId: threadId,
      repo: payload.repository.full_name,
      prNumber: payload.pull_request.number,
    });
    if (request !== undefined) {
      const ctx = createDeliveryContext(deps, delivery, {
        action: "created",
        installationId: payload.installation.id,
        repository: payload.repository,
        sender: payload.sender,
      });
      await decideCapabilityThread(ctx, {
        prNumber: payload.pull_request.number,
        threadId,
        request,
        decision,
      });
      return;
    }
  }
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
