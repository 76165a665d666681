import type { Logger } from "../../core/logger.ts";
import { recordDelivery } from "../runs/record-delivery.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/**
 * Records the delivery, then replies; a redelivered webhook finds the record and says
 * nothing twice. The reply is posted at once through the delivery's GitHub client, unless
 * `post` hands it elsewhere (send-refusal.ts: to the refusal desk).
 */
export async function replyOnce(
  ctx: DeliveryContext,
  issueNumber: number,
  body: string,
  why: string,
  post?: (log: Logger) => void | Promise<void>,
): Promise<void> {
  if (!(await recordDelivery(ctx.deps.db, ctx.delivery))) {
    ctx.log.info("duplicate delivery");
    return;
  }
  const log = ctx.log.child({ issue: issueNumber, reply: why });
  if (post) return post(log);
  await ctx.github.createIssueComment(ctx.repo, issueNumber, body);
  log.info("replied");
}
