import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { answerHelp } from "../flows/answer-help.ts";
import { continuePullRequest } from "../flows/continue-pull-request.ts";
import { retryLatestRun } from "../flows/retry-latest-run.ts";
import { startGitHubRun } from "../flows/start-github-run.ts";
import { stopGitHubRuns } from "../flows/stop-github-runs.ts";
import { issueCommentCreatedSchema } from "../payloads/webhook-payload-schemas.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { findLatestRun } from "../runs/find-latest-run.ts";
import type { RunScope } from "../runs/run-scope.ts";
import { issueTaskBuilder } from "../task/issue-task-builder.ts";
import { openCommandDelivery } from "../flows/open-command-delivery.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/**
 * `issue_comment.created`. A comment that is not an `/airlock` command is ignored entirely
 * (no record, no reply), so that conversation — and Airlock's own comments — never trigger anything.
 */
export async function handleIssueComment(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(issueCommentCreatedSchema, delivery.payload, "issue_comment.created");
  const opened = openCommandDelivery(deps, delivery, payload);
  if (opened === undefined) return;
  const { command, ctx } = opened;
  const issue = payload.issue;
  const commentId = payload.comment.id;
  if (issue.pull_request !== undefined && issue.pull_request !== null) {
    await continuePullRequest(ctx, {
      pullNumber: issue.number,
      command,
      commentId,
      event: "issue_comment.created",
    });
    return;
  }
  const scope: RunScope = { kind: "issue", repo: ctx.repository.fullName, issueNumber: issue.number };
  const reactTo = { commentId };
  const trigger = { event: "issue_comment.created" as const, sender: ctx.sender.login, commentId };
  switch (command.kind) {
    case "stop":
      return stopGitHubRuns(ctx, { replyTo: issue.number, reactTo, scope });
    case "retry":
      return retryLatestRun(ctx, {
        replyTo: issue.number,
        reactTo,
        scope,
        latest: await findLatestRun(deps.db, scope),
        trigger: { ...trigger, kind: "retry" },
      });
    case "help":
    case "feedback":
      return answerHelp(ctx, issue.number);
    case "run":
      return startGitHubRun(ctx, {
        replyTo: issue.number,
        reactTo,
        agent: command.agent,
        trigger: { ...trigger, kind: "command" },
        scope,
        issueNumber: issue.number,
        buildTask: issueTaskBuilder(ctx, issue, {
          instructions: command.instructions,
          commandCommentId: commentId,
        }),
      });
  }
}
