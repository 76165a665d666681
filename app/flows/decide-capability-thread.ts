import { decideCapabilityRequest } from "../../core/db/capability-requests.ts";
import { getRun } from "../../core/db/runs.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";
import { createRoleLookup } from "../decide/create-role-lookup.ts";
import { judgeDecider } from "../decide/judge-decider.ts";
import { readDecisionRules } from "../decide/read-decision-rules.ts";
import { renderCapabilityDecided } from "../messages/render-capability-decided.ts";
import { renderDeciderRefusal } from "../messages/render-decider-refusal.ts";
import { isDeliveryRecorded } from "../runs/is-delivery-recorded.ts";
import { recordDelivery } from "../runs/record-delivery.ts";
import type { CapabilityDecision } from "../text/parse-capability-decision.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { resumeOrBuildImage } from "./resume-or-build-image.ts";
import { sendRefusal } from "./send-refusal.ts";

/**
 * `/approve` or `/deny <why>` replied in the thread of the review comment that asks about
 * one capability request (issue 10 §4): that request is decided (a denial's reason is what
 * the agent is told), the run is queued again if nothing else is pending, and the answer
 * goes in the same thread. Anyone not allowed gets a reply there, and nothing changes.
 */
export async function decideCapabilityThread(
  ctx: DeliveryContext,
  input: { prNumber: number; threadId: number; request: CapabilityRequest; decision: CapabilityDecision },
): Promise<void> {
  const { db } = ctx.deps;
  if (await isDeliveryRecorded(db, ctx.delivery.id)) {
    ctx.log.info("duplicate delivery");
    return;
  }
  const run = await getRun(db, input.request.runId);
  // Comment ids are GitHub-wide, but a thread only decides a run of its own repository and pull request.
  if (!run || run.repo !== ctx.repository.fullName || run.prNumber !== input.prNumber) {
    ctx.log.warn({ runId: input.request.runId }, "a capability thread outside its run's pull request");
    return;
  }
  const log = ctx.log.child({ runId: run.id, request: input.request.id });
  const rules = readDecisionRules(run);
  const role =
    ctx.sender.type === "Bot" ? "none" : await createRoleLookup(ctx.github, ctx.repo)(ctx.sender.login);
  const verdict = judgeDecider(ctx.sender, role, rules);
  const thread = { reviewCommentId: input.threadId };
  if (verdict !== "allowed") {
    log.info({ sender: ctx.sender.login, verdict, role }, "capability decision refused");
    const body = renderDeciderRefusal(ctx.sender.login, verdict, { runId: run.id, role, rules });
    await sendRefusal(ctx, input.prNumber, body, "may not decide", thread);
    return;
  }
  let body: string;
  if (input.request.state === "pending" && run.state !== "awaiting_approval") {
    body = `${mentionUser(ctx.sender.login)} Airlock run ${formatCode(run.id)} is ${formatCode(run.state)}, not waiting for a decision; nothing was changed.`;
  } else {
    const { decision } = input;
    const decided = await decideCapabilityRequest(db, {
      runId: run.id,
      id: input.request.id,
      state: decision.kind === "approve" ? "granted" : "denied",
      by: ctx.sender.login,
      reason: decision.kind === "deny" ? decision.reason : undefined,
      secret: ctx.deps.tokenSecret,
    });
    // The approved commit: the pull request's head, as the thread was answered on it
    // (asked only when the image is built on Actions).
    const { resume, note } = await resumeOrBuildImage(ctx, run, {
      headSha: async () => (await ctx.github.getPull(ctx.repo, input.prNumber)).headSha,
    });
    log.info(
      { decision: decision.kind, changed: decided.changed, resumed: resume.resumed },
      "capability request decided",
    );
    body = renderCapabilityDecided(
      ctx.sender.login,
      decided.request ?? input.request,
      decided.changed,
      resume,
    );
    if (note) body = `${body}\n\n${note}`;
  }
  if (!(await recordDelivery(db, ctx.delivery))) {
    ctx.log.info("duplicate delivery");
    return;
  }
  await ctx.github.replyToReviewComment(ctx.repo, input.prNumber, input.threadId, body);
}
