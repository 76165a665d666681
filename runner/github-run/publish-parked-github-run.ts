import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { locateCapabilityLines } from "../../core/capabilities/locate-capability-lines.ts";
import { findLastAuditData } from "../../core/audit/find-last-audit-data.ts";
import {
  listPendingCapabilityRequests,
  setCapabilityReviewComment,
} from "../../core/db/capability-requests.ts";
import type { Db } from "../../core/db/open-database.ts";
import type { CapabilityRequest, Run } from "../../core/db/schema.ts";
import { AirlockError } from "../../core/errors.ts";
import { GitHubApiError, type GitHubApi, type ReviewCommentInfo } from "../../core/github/github-api.ts";
import type { Logger } from "../../core/logger.ts";
import { DEFAULT_APPROVE_PERMISSION } from "../../core/repo-config/repo-config-schema.ts";
import { parseStoredRepoConfig } from "../../core/repo-config/parse-stored-repo-config.ts";
import { commentMarker } from "../../core/summary/comment-marker.ts";
import { formatCode } from "../../core/summary/escape-markdown.ts";
import { loadRunSummaryFacts } from "../../core/summary/load-run-summary-facts.ts";
import { renderWhoMayDecide } from "../../core/summary/render-who-may-decide.ts";
import type { HostFactSources } from "../capabilities/capability-facts.ts";
import { gatherCapabilityFacts } from "../capabilities/gather-capability-facts.ts";
import { clipToGitHubLimit } from "./clip-to-github-limit.ts";
import { refreshTrackingComment } from "./refresh-tracking-comment.ts";
import { openDraftPull } from "./open-draft-pull.ts";
import { parseRepoName } from "./parse-repo-name.ts";
import { renderCapabilityFacts } from "./render-capability-facts.ts";
import { renderCapabilityQuestion, type GatheredFacts } from "./render-capability-question.ts";

export type PublishedPause =
  | {
      kind: "published";
      prNumber: number;
      prUrl: string;
      /** The review posted now; undefined when every pending request had been asked already. */
      reviewId: number | undefined;
      /** Requests asked in this review, on their lines. */
      asked: number[];
      /** Requests an earlier attempt had asked (its comment was found on the pull request). */
      alreadyAsked: number[];
      /** Requests with no entry in capabilities.yml: asked in the review's text, not on a line. */
      unplaced: number[];
    }
  /** A decision came first (the run is no longer parked): nothing to ask. */
  | { kind: "not_parked"; state: string };

/**
 * Issue 10 §3, GitHub side, called by the runner right after it parked a run (its work and
 * `.github/airlock/capabilities.yml` pushed, audit `relay.pushed` naming branch and commit):
 * 1. open or update the run's draft pull request;
 * 2. post ONE review (COMMENT, on the pushed commit) with a comment on each pending
 *    request's line of capabilities.yml: what is asked, the agent's reason, the facts
 *    gathered on the host, how to answer;
 * 3. remember each comment's id on its request, so a reply in its thread decides it;
 * 4. tell the tracking comment the run waits for a decision there.
 *
 * Safe to repeat (a runner may die after posting): a request that has a comment, or whose
 * comment is found on the pull request by its marker, is not asked again. A fact source
 * that fails gives a line saying so, never a failed publish.
 */
export async function publishParkedGitHubRun(
  deps: { db: Db; github: GitHubApi; logger: Logger; factSources?: HostFactSources | undefined },
  runId: string,
): Promise<PublishedPause> {
  const { db, github } = deps;
  const { run, audit } = await loadRunSummaryFacts(db, runId);
  const log = deps.logger.child({ runId, repo: run.repo });
  if (run.state !== "awaiting_approval") {
    log.info({ state: run.state }, "the run is no longer parked; no review to post");
    return { kind: "not_parked", state: run.state };
  }
  const pushed = findLastAuditData(audit, "relay.pushed");
  if (!pushed) {
    throw new AirlockError(
      "parked_run_not_pushed",
      `run ${runId} is parked but its ledger has no relay.pushed entry: push the branch with ${capabilitiesFilePath} before publishing the pause`,
    );
  }
  const repo = parseRepoName(run.repo);
  const pull = await openDraftPull(deps, run, {
    branch: pushed.branch,
    body: renderWaitingPullBody(run),
    replaceBody: false,
  });

  const pending = await listPendingCapabilityRequests(db, runId);
  let toAsk = pending.filter((r) => r.reviewCommentId === null);
  const alreadyAsked: number[] = [];
  if (toAsk.length > 0) {
    // An earlier attempt may have posted its review and died before storing the ids.
    const found = await adoptPostedComments(db, await github.listReviewComments(repo, pull.number), toAsk);
    alreadyAsked.push(...found);
    toAsk = toAsk.filter((r) => !found.includes(r.id));
  }

  let reviewId: number | undefined;
  const placed: { request: CapabilityRequest; line: number }[] = [];
  const unplaced: CapabilityRequest[] = [];
  if (toAsk.length > 0) {
    const file = await github.readFile(repo, capabilitiesFilePath, pushed.commit);
    const lines = file === undefined ? [] : locateCapabilityLines(file);
    for (const request of toAsk) {
      // The newest entry for it: a file may also hold entries of earlier runs.
      const entry = lines.findLast((l) => l.kind === request.kind && l.name === request.name);
      if (entry) placed.push({ request, line: entry.nameLine });
      else unplaced.push(request);
    }
    if (unplaced.length > 0) {
      log.warn({ requests: unplaced.map((r) => r.id) }, `requests missing from ${capabilitiesFilePath}`);
    }
    const whoMayDecide = renderWhoMayDecide(decisionRules(run, log));
    const facts = new Map(
      await Promise.all(toAsk.map(async (r) => [r.id, await gatherFacts(deps.factSources, r, log)] as const)),
    );
    const question = (request: CapabilityRequest, onItsLine: boolean) =>
      renderCapabilityQuestion({ request, facts: facts.get(request.id)!, whoMayDecide, onItsLine });
    const postReview = () =>
      github.createReview(repo, pull.number, {
        commitId: pushed.commit,
        event: "COMMENT",
        body: clipToGitHubLimit(
          renderReviewBody(
            run,
            placed.length,
            unplaced.map((r) => question(r, false)),
            whoMayDecide,
          ),
        ),
        comments: placed.map(({ request, line }) => ({
          path: capabilitiesFilePath,
          line,
          body: clipToGitHubLimit(question(request, true)),
        })),
      });
    const review = await postReview().catch(async (error: unknown) => {
      // GitHub could not place a comment (the file or the line is not in the pull request's
      // diff, say): ask in the review's text rather than not at all.
      if (!(error instanceof GitHubApiError) || error.status !== 422 || placed.length === 0) throw error;
      log.warn(
        { err: error.message },
        "GitHub refused the comments on their lines; asking in the review's text",
      );
      unplaced.push(...placed.map((p) => p.request));
      placed.length = 0;
      return postReview();
    });
    reviewId = review.id;
    const posted = (await github.listReviewComments(repo, pull.number)).filter(
      (c) => c.reviewId === review.id,
    );
    const stored = await adoptPostedComments(
      db,
      posted,
      placed.map((p) => p.request),
    );
    const lost = placed.filter((p) => !stored.includes(p.request.id)).map((p) => p.request.id);
    if (lost.length > 0) log.warn({ reviewId, requests: lost }, "posted comments not found in the review");
    log.info({ pr: pull.number, reviewId, asked: stored.length }, "asked for a decision in the pull request");
  }

  await refreshTrackingComment({ db, github, log }, repo, run, {
    awaiting: { prNumber: pull.number, link: pull.htmlUrl, pending: pending.length },
  });
  return {
    kind: "published",
    prNumber: pull.number,
    prUrl: pull.htmlUrl,
    reviewId,
    asked: placed.map((p) => p.request.id),
    alreadyAsked,
    unplaced: unplaced.map((r) => r.id),
  };
}

/**
 * Store the comment that asks about each request, found by its marker. Only a top-level
 * comment by a bot counts: a person (or anyone on a public repository) who pastes the
 * marker into a comment of their own must not take a request's thread.
 */
async function adoptPostedComments(
  db: Db,
  comments: readonly ReviewCommentInfo[],
  requests: readonly CapabilityRequest[],
): Promise<number[]> {
  const adopted: number[] = [];
  for (const request of requests) {
    const marker = commentMarker("capability", `${request.runId}:${request.id}`);
    const comment = comments.find(
      (c) =>
        c.authorType === "Bot" && c.inReplyToId === null && c.reviewId !== null && c.body.startsWith(marker),
    );
    if (comment === undefined || comment.reviewId === null) continue;
    await setCapabilityReviewComment(db, {
      id: request.id,
      reviewId: comment.reviewId,
      reviewCommentId: comment.id,
    });
    adopted.push(request.id);
  }
  return adopted;
}

async function gatherFacts(
  sources: HostFactSources | undefined,
  request: CapabilityRequest,
  log: Logger,
): Promise<GatheredFacts> {
  if (sources === undefined) return { ok: false, why: "this runner has no fact sources configured" };
  try {
    const facts = await gatherCapabilityFacts(sources, {
      kind: request.kind,
      name: request.name,
      version: request.version ?? undefined,
    });
    return { ok: true, lines: renderCapabilityFacts(facts) };
  } catch (error) {
    log.warn(
      { request: request.id, err: (error as Error).message },
      "could not gather the facts of a request",
    );
    return { ok: false, why: (error as Error).message };
  }
}

function decisionRules(run: Run, log: Logger) {
  let config;
  try {
    config = parseStoredRepoConfig(run.repoConfig, run.id);
  } catch (error) {
    // The app refuses to decide on such a run too; the review still says the default.
    log.warn({ err: (error as Error).message }, "the run's stored repository config is not valid");
  }
  return {
    approvePermission: config?.approvePermission ?? DEFAULT_APPROVE_PERMISSION,
    requireDistinctApprover: config?.requireDistinctApprover ?? false,
    requestedBy: run.requestedBy,
  };
}

function renderReviewBody(
  run: Run,
  placed: number,
  unplaced: readonly string[],
  whoMayDecide: string,
): string {
  const asked = placed + unplaced.length;
  const lines = [
    commentMarker("capability-review", `${run.id}:${run.segment}`),
    `Airlock run ${formatCode(run.id)} is paused: the agent asked for ${asked} ` +
      `capabilit${asked === 1 ? "y" : "ies"} to go on` +
      (placed > 0 ? `, each asked in a comment on its line of ${formatCode(capabilitiesFilePath)}.` : "."),
    "",
    "Approve this review to grant every pending request of the run, or reply `/approve` or `/deny <why>` " +
      "in one request's thread to decide that one. The run resumes once every request is decided.",
    whoMayDecide,
  ];
  if (run.approvalDeadline !== null) {
    lines.push(
      "",
      `Undecided requests time out at ${run.approvalDeadline.toISOString()}; the run then ends \`capability_timeout\` with its work here.`,
    );
  }
  for (const question of unplaced) lines.push("", "---", "", question);
  return lines.join("\n");
}

/** The body of a pull request opened for a pause; the run's summary replaces it when the run ends. */
function renderWaitingPullBody(run: Run): string {
  return [
    ...(run.issueNumber !== null ? [`Fixes #${run.issueNumber}`, ""] : []),
    `Airlock run ${formatCode(run.id)} is waiting for a decision on the capabilities its agent asked for (see the review below). ` +
      "The work so far is on this branch; the audit summary comes here when the run ends.",
  ].join("\n");
}
