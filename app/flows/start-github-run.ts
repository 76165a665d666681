import { getAgent } from "../../core/agents/get-agent.ts";
import { releaseAppLease } from "../../core/db/runs.ts";
import { renderTrackingComment } from "../../core/summary/render-tracking-comment.ts";
import type { RunTrigger } from "../../core/db/schema.ts";
import type { ReactionTarget, RepoRole } from "../../core/github/github-api.ts";
import type { RepoConfig } from "../../core/repo-config/repo-config.ts";
import { newRunId } from "../../core/ids.ts";
import { chooseAgent } from "../decide/choose-agent.ts";
import { formatAirlockBranch } from "../decide/parse-airlock-branch.ts";
import { renderActiveRun } from "../messages/render-active-run.ts";
import { renderAgentNotAllowed } from "../messages/render-agent-not-allowed.ts";
import { renderNoTrustedText } from "../messages/render-no-trusted-text.ts";
import { isDeliveryRecorded } from "../runs/is-delivery-recorded.ts";
import { recordGitHubRun } from "../runs/record-github-run.ts";
import { escapeMarkdown } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";
import { readPreapprovedCapabilities } from "./read-preapproved-capabilities.ts";
import type { RunScope } from "../runs/run-scope.ts";
import { admitSender } from "./admit-sender.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { replyOnce } from "./reply-once.ts";

/** Long enough to post the tracking comment; if the app dies first, a runner claims the run after it. */
const appLeaseSeconds = 30;

export interface RunTask {
  prompt: string;
  hasTrustedText: boolean;
  withheldAuthors?: string[] | undefined;
  omittedAuthors?: string[] | undefined;
}

export interface StartRunRequest {
  /** Issue or pull request where replies and the tracking comment go. */
  replyTo: number;
  reactTo: ReactionTarget;
  /** Named by the label or command; the repository's default agent otherwise. */
  agent?: string | undefined;
  /** A retry keeps the model of the run it repeats. */
  model?: string | undefined;
  trigger: RunTrigger;
  scope: RunScope;
  issueNumber: number;
  /** Absent for a new run: it starts from the default branch on `airlock/<issue>-<run>`. */
  followUp?: { branch: string; prNumber: number; of: string } | undefined;
  buildTask: (config: RepoConfig, roleOf: (login: string) => Promise<RepoRole>) => Promise<RunTask>;
}

/**
 * A trigger that asks for a run:
 * 1. a delivery seen before does nothing;
 * 2. the sender must be a person at `min_permission`, and `.github/airlock.yml` valid;
 * 3. the agent must be allowed there;
 * 4. the task is built from trusted text only, and there must be some;
 * 5. delivery, run and `run.requested` are recorded in one transaction, unless the issue
 *    (or pull request) has an active run;
 * 6. the tracking comment, which the runner edits from then on (the run is leased to the
 *    app until then: appLeaseOwner in core/db/runs.ts), then 👀 on the trigger.
 */
export async function startGitHubRun(ctx: DeliveryContext, request: StartRunRequest): Promise<void> {
  const { deps, github, repo, sender } = ctx;
  if (await isDeliveryRecorded(deps.db, ctx.delivery.id)) {
    ctx.log.info("duplicate delivery");
    return;
  }
  const admission = await admitSender(ctx, request.replyTo, { needConfig: true });
  if (!admission.admitted || admission.config === undefined) return;
  const { config, roleOf } = admission;

  const choice = chooseAgent(request.agent, config);
  if (!choice.ok) {
    await replyOnce(
      ctx,
      request.replyTo,
      renderAgentNotAllowed(sender.login, choice.requested, choice.allowed),
      "agent",
    );
    return;
  }
  const agent = getAgent(choice.agent, ctx.catalog);
  const model = request.model ?? config.model ?? agent.defaultModel;

  const task = await request.buildTask(config, roleOf);
  if (!task.hasTrustedText) {
    await replyOnce(
      ctx,
      request.replyTo,
      renderNoTrustedText(sender.login, config.minPermission),
      "no trusted text",
    );
    return;
  }

  const preapproved = await readPreapprovedCapabilities(ctx);
  if (!preapproved.ok) {
    await replyOnce(
      ctx,
      request.replyTo,
      `${mentionUser(sender.login)} nothing was started: ${escapeMarkdown(preapproved.problem)}\n\nFix the file on the default branch (or remove the entry), then ask again.`,
      "invalid capabilities file",
    );
    return;
  }

  const runId = newRunId();
  const log = ctx.log.child({ runId });
  const budget = { usd: config.budget.usd, tokens: config.budget.tokens };
  const outcome = await recordGitHubRun(deps.db, {
    delivery: ctx.delivery,
    scope: request.scope,
    secret: deps.tokenSecret,
    run: {
      id: runId,
      kind: "github",
      state: "queued",
      agent: agent.id,
      model,
      repo: ctx.repository.fullName,
      issueNumber: request.issueNumber,
      prompt: task.prompt,
      budgetUsd: budget.usd.toFixed(6),
      budgetTokens: budget.tokens,
      deliveryId: ctx.delivery.id,
      installationId: ctx.delivery.installationId ?? null,
      cloneUrl: ctx.repository.cloneUrl,
      baseRef: request.followUp?.branch ?? ctx.repository.defaultBranch,
      headBranch: request.followUp?.branch ?? formatAirlockBranch(request.issueNumber, runId),
      prNumber: request.followUp?.prNumber ?? null,
      followUpOf: request.followUp?.of ?? null,
      requestedBy: sender.login,
      trigger: request.trigger,
      repoConfig: config,
    },
    appLeaseSeconds,
    preapproved: preapproved.grants,
    audit: {
      trigger: request.trigger,
      sender: sender.login,
      agent: agent.id,
      model,
      issue: request.issueNumber,
      repo: ctx.repository.fullName,
      budget,
      deliveryId: ctx.delivery.id,
      ...(request.followUp ? { followUpOf: request.followUp.of, pull: request.followUp.prNumber } : {}),
    },
  });
  if (outcome.kind === "duplicate") {
    log.info("duplicate delivery");
    return;
  }
  if (outcome.kind === "active") {
    log.info({ activeRunId: outcome.run.id }, "an active run already exists; none started");
    await github.createIssueComment(
      repo,
      request.replyTo,
      renderActiveRun(sender.login, outcome.run.id, outcome.run.state),
    );
    return;
  }
  log.info(
    { agent: agent.id, model, issue: request.issueNumber, trigger: request.trigger.kind },
    "run queued",
  );

  // The run is recorded: what follows is courtesy. A failure here must not fail the delivery
  // (GitHub would redeliver, and the redelivery rightly does nothing); the runner creates a
  // tracking comment when none is recorded.
  // The tracking comment first, then the lease goes, then 👀: Octokit paces an
  // installation's writes a second apart, and a reaction posted first held every run in
  // the queue for that second (issue 15's measurement). The reaction fences nothing.
  let trackingCommentId: number | undefined;
  try {
    const comment = await github.createIssueComment(
      repo,
      request.replyTo,
      renderTrackingComment(outcome.run, undefined, {
        queued: {
          budgetUsd: budget.usd,
          budgetTokens: budget.tokens,
          sender: sender.login,
          followUpOf: request.followUp?.of,
          withheldAuthors: task.withheldAuthors,
          omittedAuthors: task.omittedAuthors,
        },
      }),
    );
    trackingCommentId = comment.id;
  } catch (error) {
    log.warn({ err: (error as Error).message }, "could not post the tracking comment; the runner will");
  } finally {
    await releaseAppLease(deps.db, runId, trackingCommentId);
  }
  try {
    await github.addReaction(repo, request.reactTo, "eyes");
  } catch (error) {
    log.warn({ err: (error as Error).message }, "could not add the 👀 reaction");
  }
}
