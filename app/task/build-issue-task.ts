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
  // All at once (one lookup per login, Octokit runs ten at a time): one after the other, an
  // issue with 60 strangers' comments kept the maintainer's run waiting for 60 round trips.
  const [issueTrusted, ...trusted] = await Promise.all([
    trusts(input.issue.author, input.issue.authorType),
    ...comments.map((c) => trusts(c.author, c.authorType)),
  ]);
  return composeIssueTask({
    issueNumber: input.issue.number,
    issue: { ...input.issue, trusted: issueTrusted === true },
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
