import type { GitHubApi, RepoRef, RepoRole } from "../../core/github/github-api.ts";
import { meetsPermission } from "../../core/repo-config/meets-permission.ts";
import type { PermissionLevel } from "../../core/repo-config/permission-levels.ts";
import { composeIssueTask, type IssueTask } from "./compose-issue-task.ts";

export interface BuildIssueTaskInput {
  issue: { number: number; title: string; body: string; author: string; authorType: string };
  minPermission: PermissionLevel;
  roleOf: (login: string) => Promise<RepoRole>;
  instructions?: { by: string; text: string } | undefined;
  /** The comment that carried the command: its words are the instructions already. */
  excludeCommentId?: number | undefined;
  maxChars: number;
}

/**
 * Reads the issue's comments and each distinct author's role (once), then composes the task
 * from trusted text only. Bots' comments (Airlock's own tracking comments among them) are
 * never part of a task.
 */
export async function buildIssueTask(
  github: GitHubApi,
  repo: RepoRef,
  input: BuildIssueTaskInput,
): Promise<IssueTask> {
  const comments = (await github.listIssueComments(repo, input.issue.number)).filter(
    (c) => c.id !== input.excludeCommentId && c.authorType !== "Bot",
  );
  const trusts = async (login: string, type: string) =>
    type !== "Bot" && meetsPermission(await input.roleOf(login), input.minPermission);
  const issueTrusted = await trusts(input.issue.author, input.issue.authorType);
  const trusted: boolean[] = [];
  for (const comment of comments) trusted.push(await trusts(comment.author, comment.authorType));
  return composeIssueTask({
    issueNumber: input.issue.number,
    issue: { ...input.issue, trusted: issueTrusted },
    comments: comments.map((c, i) => ({
      author: c.author,
      body: c.body,
      createdAt: c.createdAt,
      trusted: trusted[i]!,
    })),
    instructions: input.instructions,
    maxChars: input.maxChars,
  });
}
