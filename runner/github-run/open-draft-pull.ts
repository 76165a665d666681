import type { Db } from "../../core/db/open-database.ts";
import { setRunPullNumber } from "../../core/db/runs.ts";
import type { Run } from "../../core/db/schema.ts";
import { GitHubApiError, type GitHubApi, type RepoRef } from "../../core/github/github-api.ts";
import type { Logger } from "../../core/logger.ts";
import { isTerminalRunState } from "../../core/run-states.ts";
import { clipToGitHubLimit } from "./clip-to-github-limit.ts";
import { parseRepoName } from "./parse-repo-name.ts";

/**
 * The run's draft pull request for `branch`: the open one with that head (its body replaced
 * when `replaceBody`), or a new draft. Found by its branch, so a runner that died half way
 * and the next one that publishes again never open two. The number is recorded on the run.
 *
 * The lookup and a new draft's title (the issue's) and base are read side by side (issue 15):
 * only the create waits for all three. When the pull request exists, the title and base were
 * read for nothing, and a failure to read them does not count.
 */
export async function openDraftPull(
  deps: { db: Db; github: GitHubApi; logger: Logger },
  run: Run,
  pull: { branch: string; body: string; replaceBody: boolean },
): Promise<{ number: number; htmlUrl: string }> {
  const { github } = deps;
  const repo = parseRepoName(run.repo);
  const log = deps.logger.child({ runId: run.id, repo: run.repo });
  const title = pullTitle(github, repo, run);
  const base = run.baseRef ?? github.getRepository(repo).then((r) => r.defaultBranch);
  // Only a new draft uses them: a read that failed counts only then, awaited below.
  void Promise.allSettled([title, base]);
  const body = clipToGitHubLimit(pull.body);
  const existing = await github.findOpenPull(repo, pull.branch);
  let opened: { number: number; htmlUrl: string };
  if (existing) {
    if (pull.replaceBody) await github.updatePull(repo, existing.number, { body });
    opened = existing;
  } else {
    const draft = { title: await title, head: pull.branch, base: await base, body, draft: true };
    opened = await github.createPull(repo, draft).catch(async (error: unknown) => {
      // Private repositories on GitHub Free have no drafts: open a regular pull request
      // that says it is a draft in spirit, rather than no pull request at all.
      if (!isDraftRefusal(error)) throw error;
      log.warn("draft pull requests are not available in this repository; opening a regular one");
      return github.createPull(repo, {
        ...draft,
        draft: false,
        body: clipToGitHubLimit(`${draftNote}\n\n${draft.body}`),
      });
    });
    log.info({ pr: opened.number }, "opened the draft pull request");
  }
  await setRunPullNumber(deps.db, run.id, opened.number);
  return { number: opened.number, htmlUrl: opened.htmlUrl };
}

/** A run that ended otherwise than succeeded says so in the title; a parked one has not ended. */
async function pullTitle(github: GitHubApi, repo: RepoRef, run: Run): Promise<string> {
  const partial = isTerminalRunState(run.state) && run.state !== "succeeded" ? `[${run.state}] ` : "";
  if (run.issueNumber === null) return `${partial}Airlock run ${run.id}`;
  const issue = await github.getIssue(repo, run.issueNumber);
  const title = issue.title.length > 200 ? `${issue.title.slice(0, 197)}...` : issue.title;
  return `${partial}Airlock: ${title}`;
}

const draftNote =
  "> **Not merge-ready until reviewed.** This repository does not allow draft pull requests, so Airlock opened a regular one; treat it as a draft.";

function isDraftRefusal(error: unknown): boolean {
  if (!(error instanceof GitHubApiError) || error.status !== 422) return false;
  const errors = (error.cause as { response?: { data?: { errors?: { message?: string }[] } } } | undefined)
    ?.response?.data?.errors;
  return (errors ?? []).some((e) => /draft pull requests are not supported/i.test(e.message ?? ""));
}
