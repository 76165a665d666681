import { defaultMaxTaskChars } from "../airlock-app-deps.ts";
import type { ReactionTarget } from "../../core/github/github-api.ts";
import { isAirlockBranch, parseAirlockBranch } from "../decide/parse-airlock-branch.ts";
import { renderBotRefusal } from "../messages/render-bot-refusal.ts";
import { renderNotAirlockPull } from "../messages/render-not-airlock-pull.ts";
import { findLatestRun } from "../runs/find-latest-run.ts";
import { isDeliveryRecorded } from "../runs/is-delivery-recorded.ts";
import type { RunScope } from "../runs/run-scope.ts";
import { composeFollowUpTask } from "../task/compose-follow-up-task.ts";
import type { AirlockCommand } from "../text/parse-airlock-command.ts";
import { answerHelp } from "./answer-help.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { sendRefusal } from "./send-refusal.ts";
import { retryLatestRun } from "./retry-latest-run.ts";
import { startGitHubRun } from "./start-github-run.ts";
import { stopGitHubRuns } from "./stop-github-runs.ts";

export interface PullRequestComment {
  pullNumber: number;
  /** From the payload of a review comment; read from GitHub for a conversation comment. */
  headRef?: string | undefined;
  command: AirlockCommand;
  commentId: number;
  event: "issue_comment.created" | "pull_request_review_comment.created";
  review?: { path: string; line: number | null; diffHunk: string } | undefined;
}

/**
 * `/airlock …` on a pull request. Only Airlock's own pull requests (a branch `airlock/…`
 * that a recorded run of this repository pushed) take follow-ups: on any other, the branch
 * may be a contributor's, and a follow-up would push to it.
 */
export async function continuePullRequest(ctx: DeliveryContext, comment: PullRequestComment): Promise<void> {
  if (await isDeliveryRecorded(ctx.deps.db, ctx.delivery.id)) {
    ctx.log.info("duplicate delivery");
    return;
  }
  const replyTo = comment.pullNumber;
  if (ctx.sender.type === "Bot") {
    await sendRefusal(ctx, replyTo, renderBotRefusal(ctx.sender.login), "bot sender");
    return;
  }
  if (comment.command.kind === "help") {
    await answerHelp(ctx, replyTo);
    return;
  }
  const headRef = comment.headRef ?? (await ctx.github.getPull(ctx.repo, comment.pullNumber)).headRef;
  const scope: RunScope = {
    kind: "pull",
    repo: ctx.repository.fullName,
    headBranch: headRef,
    prNumber: comment.pullNumber,
  };
  const latest = isAirlockBranch(headRef) ? await findLatestRun(ctx.deps.db, scope) : undefined;
  if (latest === undefined) {
    // Sent before the sender's permission is known: anyone may ask, so it waits its turn.
    await sendRefusal(ctx, replyTo, renderNotAirlockPull(ctx.sender.login), "not an Airlock pull request");
    return;
  }
  const reactTo: ReactionTarget = comment.review
    ? { reviewCommentId: comment.commentId }
    : { commentId: comment.commentId };
  const followUp = { branch: headRef, prNumber: comment.pullNumber };
  const trigger = {
    event: comment.event,
    sender: ctx.sender.login,
    commentId: comment.commentId,
    reviewComment: comment.review !== undefined,
  };
  const command = comment.command;
  if (command.kind === "stop") {
    await stopGitHubRuns(ctx, { replyTo, reactTo, scope });
    return;
  }
  if (command.kind === "retry") {
    await retryLatestRun(ctx, {
      replyTo,
      reactTo,
      scope,
      latest,
      followUp,
      trigger: { ...trigger, kind: "retry" },
    });
    return;
  }
  const issueNumber = parseAirlockBranch(headRef)?.issueNumber ?? latest.issueNumber ?? comment.pullNumber;
  await startGitHubRun(ctx, {
    replyTo,
    reactTo,
    agent: (command.kind === "run" ? command.agent : undefined) ?? latest.agent ?? undefined,
    trigger: { ...trigger, kind: "follow_up" },
    scope,
    issueNumber,
    followUp: { ...followUp, of: latest.id },
    buildTask: () =>
      Promise.resolve(
        composeFollowUpTask({
          pullNumber: comment.pullNumber,
          branch: headRef,
          by: ctx.sender.login,
          feedback: command.instructions,
          review: comment.review,
          maxChars: ctx.deps.maxTaskChars ?? defaultMaxTaskChars,
        }),
      ),
  });
}
