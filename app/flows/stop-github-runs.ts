import type { ReactionTarget } from "../../core/github/github-api.ts";
import { renderNothingToStop } from "../messages/render-nothing-to-stop.ts";
import { isDeliveryRecorded } from "../runs/is-delivery-recorded.ts";
import { requestRunStop } from "../runs/request-run-stop.ts";
import type { RunScope } from "../runs/run-scope.ts";
import { admitSender } from "./admit-sender.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/**
 * `/airlock stop` on an issue or an Airlock pull request. Works with a broken
 * `.github/airlock.yml` (the default permission then applies): stopping spending must never
 * depend on the file that configured it.
 */
export async function stopGitHubRuns(
  ctx: DeliveryContext,
  request: { replyTo: number; reactTo: ReactionTarget; scope: RunScope },
): Promise<void> {
  if (await isDeliveryRecorded(ctx.deps.db, ctx.delivery.id)) {
    ctx.log.info("duplicate delivery");
    return;
  }
  const admission = await admitSender(ctx, request.replyTo, { needConfig: false });
  if (!admission.admitted) return;
  const outcome = await requestRunStop(ctx.deps.db, {
    delivery: ctx.delivery,
    scope: request.scope,
    by: ctx.sender.login,
    secret: ctx.deps.tokenSecret,
  });
  if (outcome.kind === "duplicate") {
    ctx.log.info("duplicate delivery");
    return;
  }
  if (outcome.runIds.length === 0) {
    await ctx.github.createIssueComment(ctx.repo, request.replyTo, renderNothingToStop(ctx.sender.login));
    ctx.log.info("nothing to stop");
    return;
  }
  for (const runId of outcome.runIds) {
    ctx.log.info({ runId, cancelledAtOnce: outcome.cancelledAtOnce.includes(runId) }, "stop requested");
  }
  try {
    await ctx.github.addReaction(ctx.repo, request.reactTo, "eyes");
  } catch (error) {
    ctx.log.warn({ err: (error as Error).message }, "could not add the 👀 reaction");
  }
}
