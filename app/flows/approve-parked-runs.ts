import { decideCapabilityRequest, listPendingCapabilityRequests } from "../../core/db/capability-requests.ts";
import type { CapabilityRequest, Run } from "../../core/db/schema.ts";
import { createRoleLookup } from "../decide/create-role-lookup.ts";
import { judgeDecider } from "../decide/judge-decider.ts";
import { readDecisionRules } from "../decide/read-decision-rules.ts";
import { renderCapabilitiesGranted } from "../messages/render-capabilities-granted.ts";
import { renderDeciderRefusal } from "../messages/render-decider-refusal.ts";
import { renderStaleApproval } from "../messages/render-stale-approval.ts";
import { isDeliveryRecorded } from "../runs/is-delivery-recorded.ts";
import { recordDelivery } from "../runs/record-delivery.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { resumeOrBuildImage } from "./resume-or-build-image.ts";
import { sendRefusal } from "./send-refusal.ts";

/**
 * An approved review on a pull request with parked runs (issue 10 §4): for each run whose
 * rules the reviewer meets, every pending request is granted (recorded with who and when in
 * the audit chain) and the run is queued again; one reply on the pull request says what was
 * granted. Anyone else gets a reply saying why not and who may, and nothing changes.
 *
 * Redeliveries change nothing: the delivery is looked up first, a decided request stays as
 * it is (decideCapabilityRequest), and a run moves only once (resumeDecidedRun).
 */
export async function approveParkedRuns(
  ctx: DeliveryContext,
  input: { prNumber: number; commitId: string; headSha: string; runs: readonly Run[] },
): Promise<void> {
  const { db } = ctx.deps;
  if (await isDeliveryRecorded(db, ctx.delivery.id)) {
    ctx.log.info("duplicate delivery");
    return;
  }
  // An approval given while looking at an older commit did not see what the latest asks for.
  if (ctx.sender.type !== "Bot" && input.commitId !== input.headSha) {
    ctx.log.info({ commitId: input.commitId, headSha: input.headSha }, "approval of an older commit");
    await sendRefusal(
      ctx,
      input.prNumber,
      renderStaleApproval(ctx.sender.login, input.commitId, input.headSha),
      "stale approval",
    );
    return;
  }
  const roleOf = createRoleLookup(ctx.github, ctx.repo);
  const answers: string[] = [];
  const refusals: string[] = [];
  for (const run of input.runs) {
    const log = ctx.log.child({ runId: run.id });
    const rules = readDecisionRules(run);
    const role = ctx.sender.type === "Bot" ? "none" : await roleOf(ctx.sender.login);
    const verdict = judgeDecider(ctx.sender, role, rules);
    if (verdict !== "allowed") {
      log.info({ sender: ctx.sender.login, verdict, role }, "capability approval refused");
      refusals.push(renderDeciderRefusal(ctx.sender.login, verdict, { runId: run.id, role, rules }));
      continue;
    }
    const granted: CapabilityRequest[] = [];
    for (const request of await listPendingCapabilityRequests(db, run.id)) {
      const decided = await decideCapabilityRequest(db, {
        runId: run.id,
        id: request.id,
        state: "granted",
        by: ctx.sender.login,
        secret: ctx.deps.tokenSecret,
      });
      if (decided.changed && decided.request) granted.push(decided.request);
    }
    const { resume, note } = await resumeOrBuildImage(ctx, run, { headSha: async () => input.headSha });
    log.info(
      { granted: granted.map((r) => r.id), resumed: resume.resumed },
      "approved review granted the run's requests",
    );
    answers.push(renderCapabilitiesGranted(ctx.sender.login, run.id, granted, resume));
    if (note) answers.push(note);
  }
  if (answers.length === 0) {
    await sendRefusal(ctx, input.prNumber, refusals.join("\n\n"), "may not decide");
    return;
  }
  if (!(await recordDelivery(db, ctx.delivery))) {
    ctx.log.info("duplicate delivery");
    return;
  }
  await ctx.github.createIssueComment(ctx.repo, input.prNumber, [...answers, ...refusals].join("\n\n"));
}
