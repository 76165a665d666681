import type { Db } from "../../core/db/open-database.ts";
import { findLastAuditData } from "../../core/audit/find-last-audit-data.ts";
import {
  appendRunEvent,
  getRun,
  markRunPublished,
  readRunProgress,
  type RunProgress,
} from "../../core/db/runs.ts";
import type { Run } from "../../core/db/schema.ts";
import type { GitHubApi } from "../../core/github/github-api.ts";
import type { Logger } from "../../core/logger.ts";
import { isTerminalRunState } from "../../core/run-states.ts";
import { escapeMarkdown } from "../../core/summary/escape-markdown.ts";
import { loadRunSummaryFacts, type RunSummaryFacts } from "../../core/summary/load-run-summary-facts.ts";
import { renderRunSummary } from "../../core/summary/render-run-summary.ts";
import { withholdSecretText } from "../relay/withhold-secret-text.ts";
import { parseRepoName } from "./parse-repo-name.ts";
import { refreshTrackingComment } from "./refresh-tracking-comment.ts";
import { renderFailureHelp } from "./render-failure-help.ts";
import { clipToGitHubLimit } from "./clip-to-github-limit.ts";
import { openDraftPull } from "./open-draft-pull.ts";
import { commentMarker } from "../../core/summary/comment-marker.ts";

export interface PublishedRun {
  prNumber?: number | undefined;
  prUrl?: string | undefined;
  resultCommentUrl: string;
}

/**
 * DESIGN §1 step 7, GitHub side, for a run that has ended: opens the draft pull request
 * "Fixes #N" with the audit summary (or updates it, for a follow-up or a second try),
 * tells the issue, closes the tracking comment, then marks the run published.
 *
 * What needs what (issue 15): the reads (the issue's comments, the summary's rows, the
 * open pull request, the issue's title, the base) need nothing but the run; the pull
 * request's create needs them; the result comment names the pull request, and the
 * tracking comment links to it (or, without one, to the result comment); the run is
 * marked published only once all of them are on GitHub.
 *
 * Safe to repeat: a runner may die half way, and the next one publishes again. The pull
 * request is found by its branch and the result comment by its marker, so nothing doubles.
 */
export async function publishGitHubRun(
  deps: { db: Db; github: GitHubApi; logger: Logger },
  runId: string,
): Promise<PublishedRun> {
  const { db, github } = deps;
  const run = await getRun(db, runId);
  if (!run) throw new Error(`run ${runId} vanished before it was published`);
  if (!isTerminalRunState(run.state))
    throw new Error(`run ${runId} is ${run.state}; only ended runs are published`);
  const log = deps.logger.child({ runId, repo: run.repo });
  const repo = parseRepoName(run.repo);
  const issueNumber = run.issueNumber ?? undefined;
  const marker = commentMarker("result", runId);
  let prNumber = run.prNumber ?? undefined;
  let prUrl: string | undefined;
  // Where the result comment goes is known before the pull request when it is the issue (or
  // a follow-up's pull request): its earlier comments are read beside the summary's load and
  // the pull request's calls (issue 15).
  const knownTarget = run.followUpOf !== null && prNumber !== undefined ? prNumber : issueNumber;
  const earlierComments =
    knownTarget === undefined
      ? undefined
      : { target: knownTarget, list: github.listIssueComments(repo, knownTarget) };
  // Awaited in postResult; a failed read counts there, not while the pull request is opened.
  if (earlierComments) void earlierComments.list.catch(() => undefined);
  const facts = await withholdSecretSummary(await loadRunSummaryFacts(db, runId));
  const summary = clipToGitHubLimit(renderRunSummary(facts));
  const pushed = findLastAuditData(facts.audit, "relay.pushed");
  if (pushed?.branch) {
    if (run.followUpOf !== null && prNumber !== undefined) {
      prUrl = (await github.getPull(repo, prNumber)).htmlUrl;
    } else {
      const body = `${issueNumber !== undefined ? `Fixes #${issueNumber}\n\n` : ""}${summary}`;
      ({ number: prNumber, htmlUrl: prUrl } = await openDraftPull(deps, run, {
        branch: pushed.branch,
        body,
        replaceBody: true,
      }));
    }
  }

  // The result comment goes where the maintainer is looking: the pull request for a
  // follow-up, the issue otherwise.
  const target = run.followUpOf !== null && prNumber !== undefined ? prNumber : (issueNumber ?? prNumber);
  if (target === undefined)
    throw new Error(`run ${runId} has neither an issue nor a pull request to report to`);
  const resultBody = renderResultComment(run, marker, pushed?.branch !== undefined, prNumber, summary);
  const postResult = async (): Promise<string> => {
    // Looked up before any create, as a retry after a crash must find the one posted before.
    const comments = await (earlierComments?.target === target
      ? earlierComments.list
      : github.listIssueComments(repo, target));
    const earlier = comments.find((c) => c.body.includes(marker));
    if (earlier) {
      await github.updateIssueComment(repo, earlier.id, resultBody);
      return `#issuecomment-${earlier.id}`;
    }
    return (await github.createIssueComment(repo, target, resultBody)).htmlUrl;
  };
  const closeTracking = (link: string, progress?: RunProgress) =>
    refreshTrackingComment({ db, github, log }, repo, run, { ended: { outcome: run.state, link } }, progress);

  let resultCommentUrl: string;
  if (prUrl === undefined) {
    // The tracking comment links to the result comment: it waits for it.
    resultCommentUrl = await postResult();
    await closeTracking(resultCommentUrl);
  } else {
    // Both only need the pull request. Octokit still spaces the two writes; beside each
    // other, the tracking comment's edit no longer waits the 3 s a new comment waits
    // after the pull request. refreshTrackingComment never throws; a failed result comment
    // does, once both ended, and the run stays unpublished, to be published again (the
    // comment found by its marker).
    // The edit is asked for first, its rows read before: Octokit queues it ahead of the
    // comment's create, so it takes the next write slot (1 s after the pull request) while
    // the comment waits for its own 3 s anyway.
    const progress = await readRunProgress(db, runId);
    const [, posted] = await Promise.allSettled([closeTracking(prUrl, progress), postResult()]);
    if (posted.status === "rejected") throw posted.reason;
    resultCommentUrl = posted.value;
  }

  await markRunPublished(db, runId);
  await appendRunEvent(db, runId, "github.published", { prNumber: prNumber ?? null, prUrl: prUrl ?? null });
  log.info({ pr: prNumber, outcome: run.state }, "run published on GitHub");
  return { prNumber, prUrl, resultCommentUrl };
}

/** The agent's summary goes into the pull request and the result comment: scanned like its files first. */
async function withholdSecretSummary(facts: RunSummaryFacts): Promise<RunSummaryFacts> {
  const audit = await Promise.all(
    facts.audit.map(async (event) => {
      const text = (event.data as { text?: unknown } | null)?.text;
      if (event.type !== "agent.summary" || typeof text !== "string") return event;
      return {
        ...event,
        data: { ...event.data, text: await withholdSecretText(text, "The agent's summary") },
      };
    }),
  );
  return { ...facts, audit };
}

function renderResultComment(
  run: Run,
  marker: string,
  pushed: boolean,
  prNumber: number | undefined,
  summary: string,
): string {
  // The reason can carry the agent's or the sandbox's words (an error, a path): shown as text.
  const reason = escapeMarkdown(run.outcomeReason ?? "no reason recorded");
  const lines = [marker];
  if (pushed && run.followUpOf !== null) {
    lines.push(`Airlock run \`${run.id}\` pushed a follow-up commit to this pull request (${run.state}).`);
  } else if (pushed && prNumber !== undefined) {
    lines.push(
      run.state === "succeeded"
        ? `Airlock run \`${run.id}\` finished: draft pull request #${prNumber}.`
        : `Airlock run \`${run.id}\` ended **${run.state}** (${reason}); its partial work is in draft pull request #${prNumber}. ${renderFailureHelp(run.state)}`,
    );
  } else {
    lines.push(
      `Airlock run \`${run.id}\` ended **${run.state}** without a pull request.`,
      "",
      `Reason (\`${run.state}\`): ${reason}`,
      "",
      renderFailureHelp(run.state),
    );
  }
  if (run.followUpOf !== null || !pushed) {
    lines.push("", "<details><summary>Audit summary</summary>", "", summary, "", "</details>");
  }
  return clipToGitHubLimit(lines.join("\n"));
}
