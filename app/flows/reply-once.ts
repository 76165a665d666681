import { recordDelivery } from "../runs/record-delivery.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/**
 * Records the delivery, then replies; a redelivered webhook finds the record and says
 * nothing twice.
 */
export async function replyOnce(
  ctx: DeliveryContext,
  issueNumber: number,
  body: string,
  why: string,
): Promise<void> {
  if (!(await recordDelivery(ctx.deps.db, ctx.delivery))) {
    ctx.log.info("duplicate delivery");
    return;
  }
  await ctx.github.createIssueComment(ctx.repo, issueNumber, body);
  ctx.log.info({ issue: issueNumber, reply: why }, "replied");
}
