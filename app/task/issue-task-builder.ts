import type { RepoRole } from "../../core/github/github-api.ts";
import type { RepoConfig } from "../../core/repo-config/repo-config.ts";
import { defaultMaxTaskChars } from "../airlock-app-deps.ts";
import type { DeliveryContext } from "../flows/delivery-context.ts";
import { buildIssueTask } from "./build-issue-task.ts";
import type { IssueTask } from "./compose-issue-task.ts";

/** The issue as a webhook payload carries it. */
export interface PayloadIssue {
  number: number;
  title: string;
  body?: string | null | undefined;
  user: { login: string; type: string };
}

/** `buildTask` for a run started on an issue (label or `/airlock run`): its trusted text, plus the sender's instructions. */
export function issueTaskBuilder(
  ctx: DeliveryContext,
  issue: PayloadIssue,
  extra: { instructions?: string | undefined; commandCommentId?: number | undefined } = {},
): (config: RepoConfig, roleOf: (login: string) => Promise<RepoRole>) => Promise<IssueTask> {
  return (config, roleOf) =>
    buildIssueTask(ctx.github, ctx.repo, {
      issue: {
        number: issue.number,
        title: issue.title,
        body: issue.body ?? "",
        author: issue.user.login,
        authorType: issue.user.type,
      },
      minPermission: config.minPermission,
      roleOf,
      instructions: extra.instructions ? { by: ctx.sender.login, text: extra.instructions } : undefined,
      excludeCommentId: extra.commandCommentId,
      maxChars: ctx.deps.maxTaskChars ?? defaultMaxTaskChars,
    });
}
