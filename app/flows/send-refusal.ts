import { replyOnce } from "./reply-once.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/**
 * A reply anyone can ask for (a refusal, help): the delivery is recorded, so a redelivery
 * says nothing twice, and the reply goes to the refusal desk, which posts it later, at most
 * once per sender and issue in its window, and drops it past its rate
 * (app/replies/create-refusal-desk.ts). The delivery is answered without waiting for
 * GitHub, and the reply goes through its own throttle queue, so an admitted run's comments
 * never queue behind these.
 */
export async function sendRefusal(
  ctx: DeliveryContext,
  issueNumber: number,
  body: string,
  why: string,
  /** Reply in this review comment's thread (of pull request `issueNumber`) instead of the conversation. */
  thread?: { reviewCommentId: number },
) {
  await replyOnce(ctx, issueNumber, body, why, (log) => {
    const outcome = ctx.deps.refusals.submit({
      installationId: ctx.delivery.installationId ?? 0,
      repo: ctx.repository.fullName,
      issueNumber,
      sender: ctx.sender.login,
      log,
      post: async () => {
        const github = await ctx.refusalGitHub();
        if (thread) await github.replyToReviewComment(ctx.repo, issueNumber, thread.reviewCommentId, body);
        else await github.createIssueComment(ctx.repo, issueNumber, body);
        log.info("replied");
      },
    });
    log.info({ outcome }, "reply handed to the refusal desk");
  });
}
