import { rm } from "node:fs/promises";
import { join } from "node:path";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import type { AuditEventData, AuditEventType } from "../../core/audit/audit-event-schemas.ts";
import {
  appendRunEvent,
  getRun,
  listRunEvents,
  measureRunWaits,
  readRunProgress,
  recordPublishFailure,
  setRunState,
  setRunTrackingComment,
} from "../../core/db/runs.ts";
import type { Run } from "../../core/db/schema.ts";
import { parseStoredRepoConfig } from "../../core/repo-config/parse-stored-repo-config.ts";
import type { GitHubApi, GitHubApp } from "../../core/github/github-api.ts";
import { isTerminalRunState } from "../../core/run-states.ts";
import type { Logger } from "../../core/logger.ts";
import { locateCallJournalDir } from "../proxy/create-call-journal.ts";
import { recoverCallJournals } from "../proxy/recover-call-journals.ts";
import { sandboxLabelKeys } from "../sandbox/sandbox-labels.ts";
import type { RunDeps } from "../run/run-deps.ts";
import { recordRunPhase } from "../run/record-run-phase.ts";
import { runRecordedRun } from "../run/run-recorded-run.ts";
import { parseRepoName } from "./parse-repo-name.ts";
import { publishGitHubRun } from "./publish-github-run.ts";
import { renderTrackingComment } from "../../core/summary/render-tracking-comment.ts";
import { closePendingCapabilityRequests } from "../../core/db/capability-requests.ts";
import type { HostFactSources } from "../capabilities/capability-facts.ts";
import { publishParkedGitHubRun } from "./publish-parked-github-run.ts";
import { renderRebuildFailureReply } from "./render-rebuild-failure-reply.ts";
import { replyOnCapabilityThread } from "./reply-on-capability-thread.ts";

export interface HandleClaimedRunDeps extends Omit<RunDeps, "signal"> {
  githubApp: GitHubApp;
  /** A run interrupted this many times (its runners died) is failed rather than tried again. */
  maxAttempts?: number | undefined;
  /** Failed tries to put a finished run on GitHub before it is given up on (default 5). */
  maxPublishFailures?: number | undefined;
  /** How often the tracking comment is refreshed while the agent works. */
  progressIntervalMs?: number | undefined;
  /** Where a capability review's facts come from (default: this host's apt, npm, pip, DNS). */
  factSources?: HostFactSources | undefined;
}

async function recoverStoppedProxiesCalls(deps: HandleClaimedRunDeps, log: Logger): Promise<void> {
  try {
    await recoverCallJournals({
      db: deps.db,
      secret: deps.tokenSecret,
      dir: locateCallJournalDir(deps.dataDir),
      logger: log,
    });
  } catch (error) {
    // The run goes on; the journal is kept and tried again at the next takeover or start.
    log.error({ err: (error as Error).message }, "could not record a stopped proxy's calls in flight");
  }
}

function isPastDeadline(run: Run): boolean {
  return run.approvalDeadline !== null && run.approvalDeadline.getTime() <= Date.now();
}

/**
 * What a runner does with a run it claimed:
 * 1. Ended but not on GitHub yet (a runner died while publishing, or the app cancelled it
 *    while queued): publish it.
 * 2. Cancel requested before it started: record `cancelled`, publish.
 * 3. Interrupted too often: record `failed`, publish.
 * 4. Otherwise run it (again, from the start, when an earlier runner died mid-run: its
 *    container is removed first and its run token no longer names the current attempt),
 *    then publish.
 */
export async function handleClaimedRun(
  deps: HandleClaimedRunDeps,
  claimed: Run,
  signal: AbortSignal,
): Promise<void> {
  const { db } = deps;
  const runId = claimed.id;
  const log = deps.logger.child({ runId, repo: claimed.repo, attempt: claimed.attempt });
  const audit = <T extends AuditEventType>(type: T, data: AuditEventData<T>) =>
    appendAuditEvent(db, { runId, type, data, secret: deps.tokenSecret });
  // The wait ended with the claim, whatever happens to the run next (issue 15).
  const phaseOf = { runId, agent: claimed.agent ?? "builtin", segment: claimed.segment };
  const { queuedMs, waitingMs } = await measureRunWaits(db, claimed);
  if (waitingMs !== undefined) {
    await appendRunEvent(db, runId, "run.waited", { segment: claimed.segment, ms: waitingMs });
  }
  if (queuedMs !== undefined) await recordRunPhase(deps, phaseOf, "queued", queuedMs);
  // Taken over from an attempt that stopped: the calls its proxy had in flight on this
  // host are recorded first, so they precede the run's end (create-call-journal.ts).
  if (claimed.attempt > 1) await recoverStoppedProxiesCalls(deps, log);
  if (claimed.installationId === null) throw new Error(`run ${runId} has no installation id`);
  const installationId: number = claimed.installationId;
  const github = deps.githubApp.forInstallation(installationId);
  const repo = parseRepoName(claimed.repo);
  /** The publish phase: the pull request, its body and the issue's answer on GitHub. */
  const timePublish = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    await recordRunPhase(deps, phaseOf, "publish", performance.now() - started);
  };

  if (claimed.state === "awaiting_approval" && !isPastDeadline(claimed)) {
    // Parked, but its runner died before the review was posted: post it, nothing else.
    await publishParked();
    return;
  }
  if (!isTerminalRunState(claimed.state)) {
    if (claimed.state === "awaiting_approval") {
      await timeOutParkedRun(claimed);
    } else if (claimed.cancelRequestedAt !== null) {
      await audit("run.finished", { outcome: "cancelled", reason: "stopped before it started" });
      await setRunState(
        db,
        runId,
        "cancelled",
        { reason: `stopped by @${claimed.cancelRequestedBy ?? "a maintainer"} before it started` },
        { attempt: claimed.attempt },
      );
    } else if (claimed.attempt - claimed.segment > (deps.maxAttempts ?? 3)) {
      // Each resume after a capability decision is a claim too: only interruptions count.
      const reason = `the run was interrupted ${claimed.attempt - claimed.segment - 1} times (its runner stopped mid-run); it is not tried again`;
      await audit("run.finished", { outcome: "failed", reason });
      await setRunState(db, runId, "failed", { reason }, { attempt: claimed.attempt });
    } else {
      try {
        await executeClaimedRun(deps, claimed, github, signal);
      } catch (error) {
        // runRecordedRun records a failure before the agent started (clone refused, image
        // missing); anything else still leaves a run that must end, not hang.
        const reason = (error as Error).message;
        log.error({ err: reason }, "the run failed");
        const current = await getRun(db, runId);
        if (current && !isTerminalRunState(current.state)) {
          await audit("run.finished", { outcome: "failed", reason });
          await setRunState(db, runId, "failed", { reason }, { attempt: claimed.attempt });
        }
      }
    }
  }
  if ((await getRun(db, runId))?.state === "awaiting_approval") {
    await publishParked();
    return;
  }
  log.info("publishing the run on GitHub");
  try {
    await timePublish(() => publishGitHubRun({ db, github, logger: deps.logger }, runId));
  } catch (error) {
    const message = (error as Error).message;
    const { failures, gaveUp } = await recordPublishFailure(db, {
      runId,
      error: message,
      maxFailures: deps.maxPublishFailures ?? 5,
    });
    if (gaveUp) {
      log.error(
        { err: message, failures },
        "gave up publishing the run on GitHub; its ledger and branch are kept",
      );
      return;
    }
    throw error;
  }

  async function publishParked(): Promise<void> {
    log.info("the run waits for capability decisions: asking in the pull request's review");
    await timePublish(() =>
      publishParkedGitHubRun({ db, github, logger: deps.logger, factSources: deps.factSources }, runId),
    );
  }

  /** The approval deadline passed with requests pending (issue 10 §2): they time out, the run ends. */
  async function timeOutParkedRun(run: Run): Promise<void> {
    const config = parseStoredRepoConfig(run.repoConfig, runId);
    const hours = ((config?.approvalTimeoutS ?? 72 * 3600) / 3600).toFixed(1).replace(/\.0$/, "");
    const why = `no decision within the approval timeout (${hours} h, approval_timeout in .github/airlock.yml)`;
    await closePendingCapabilityRequests(db, {
      runId,
      state: "timed_out",
      by: "timeout",
      reason: why,
      secret: deps.tokenSecret,
    });
    const reason = `capability requests were not decided in time: ${why}; the work so far is on the branch`;
    await audit("run.finished", { outcome: "capability_timeout", reason });
    await setRunState(db, runId, "capability_timeout", { reason }, { attempt: run.attempt });
    log.info("the approval deadline passed; the run ended capability_timeout");
  }

  async function executeClaimedRun(
    d: HandleClaimedRunDeps,
    run: Run,
    gh: GitHubApi,
    abort: AbortSignal,
  ): Promise<void> {
    // Minted on the host for each clone and push, scoped to this one repository and to
    // contents:write; it never enters the container (DESIGN §4, §7). The clone's is asked
    // for now, beside the claim's bookkeeping below (issue 15); a push mints its own.
    const mintToken = async () => {
      const minted = await d.githubApp.createInstallationToken(installationId, {
        repositories: [repo.repo],
        permissions: { contents: "write" },
      });
      return { username: "x-access-token", password: minted.token };
    };
    let cloneToken: ReturnType<typeof mintToken> | undefined = mintToken();
    // Awaited by the checkout's ask; a refusal counts there, not here.
    void cloneToken.catch(() => undefined);
    if (run.attempt > 1) {
      // An earlier runner died mid-run: its container may still be running on this
      // Docker host, and its run folder and socket are stale.
      const leftovers = await d.runtime.listContainers({ [sandboxLabelKeys.runId]: runId });
      for (const c of leftovers) await d.runtime.removeContainer(c.id);
      await rm(join(d.dataDir, "runs", runId), { recursive: true, force: true });
      await rm(join(d.dataDir, "sockets", runId), { recursive: true, force: true });
      await audit("run.reclaimed", {
        attempt: run.attempt,
        runner: d.runnerId,
        removedContainers: leftovers.length,
      });
      log.warn(
        { removedContainers: leftovers.length },
        "re-claimed a run whose runner stopped; starting it again",
      );
    }
    await audit("run.claimed", { attempt: run.attempt, runner: d.runnerId });
    const agent = getAgent(run.agent ?? "builtin", d.catalog ?? agentCatalog);
    const config = parseStoredRepoConfig(run.repoConfig, runId);
    const timeoutS = Math.min(config?.limits.timeoutS ?? agent.defaultLimits.timeoutS, d.ceiling.timeoutS);
    const { timeoutS: _ignored, ...limits } = config?.limits ?? {};
    const model = run.model ?? agent.defaultModel;
    // A resumed run (issue 10 §6) continues from its own branch, where its pause pushed the work.
    const resuming = run.segment > 0;
    if (run.cloneUrl === null || run.headBranch === null)
      throw new Error(`run ${runId} has no clone URL or branch`);

    const trackingId = await ensureTrackingComment(run, gh);
    const refresh = startProgressUpdates(run, gh, trackingId);
    try {
      await runRecordedRun(
        { ...d, signal: abort },
        {
          runId,
          attempt: run.attempt,
          agent,
          model,
          prompt: run.prompt ?? "",
          timeoutS,
          limits,
          source: {
            remote: run.cloneUrl,
            ref: resuming ? run.headBranch : (run.baseRef ?? undefined),
            credentials: () => {
              const token = cloneToken ?? mintToken();
              cloneToken = undefined;
              return token;
            },
          },
          branch: run.headBranch,
          // The run's own branch may hold an earlier attempt's commit; a follow-up's branch is
          // the pull request's, where only fast-forwards are allowed.
          forcePush: run.followUpOf === null && run.attempt > 1 && !resuming,
          segment: run.segment,
          approvalTimeoutS: config?.approvalTimeoutS,
          onCapabilityFailed: async (request, logTail) => {
            if (run.prNumber === null || request.reviewCommentId === null) return;
            await replyOnCapabilityThread(
              gh,
              repo,
              run.prNumber,
              request.reviewCommentId,
              renderRebuildFailureReply({
                spec: { kind: request.kind, name: request.name, version: request.version ?? undefined },
                reason: request.decisionReason ?? "the image rebuild failed",
                logTail,
              }),
            ).catch((error: unknown) =>
              log.warn({ err: (error as Error).message }, "could not post the rebuild failure on its thread"),
            );
          },
          relayPolicy: {
            allowWorkflowChanges: config?.allowWorkflowChanges === true,
            maxFiles: 2000,
            maxFileBytes: 10 * 1024 * 1024,
            maxTotalBytes: 100 * 1024 * 1024,
          },
          // Octokit paces an installation's writes a second apart: an edit for each short
          // step (preparing, publishing) held the pull request back by a second each (issue
          // 15's measurement). The agent's start is shown at once; a long clone or push still
          // shows within progressIntervalMs, and publishGitHubRun writes the final version.
          onProgress: (event) => {
            if (event.state !== "preparing" && event.state !== "publishing") refresh.now();
          },
        },
      );
    } finally {
      await refresh.stop();
    }
  }

  async function ensureTrackingComment(run: Run, gh: GitHubApi): Promise<number | undefined> {
    if (run.trackingCommentId !== null) return run.trackingCommentId;
    const target = run.followUpOf !== null ? (run.prNumber ?? run.issueNumber) : run.issueNumber;
    if (target === null) return undefined;
    const progress = await readRunProgress(db, runId);
    const created = await gh.createIssueComment(repo, target, renderTrackingComment(run, progress));
    await setRunTrackingComment(db, runId, created.id);
    return created.id;
  }

  function startProgressUpdates(run: Run, gh: GitHubApi, commentId: number | undefined) {
    let last = "";
    let chain: Promise<void> = Promise.resolve();
    const update = () => {
      if (commentId === undefined) return;
      chain = chain.then(async () => {
        try {
          const [progress, current, events] = await Promise.all([
            readRunProgress(db, runId),
            getRun(db, runId),
            listRunEvents(db, runId),
          ]);
          if (current && isTerminalRunState(current.state)) return; // publishing writes the last version
          const body = renderTrackingComment(run, progress, {
            softBudgetWarning: events.some((e) => e.type === "budget.soft_threshold"),
          });
          // Elapsed time alone changing is not worth an API call.
          const key = body.replace(/\| \d+m? ?\d*s \|/, "|");
          if (key === last) return;
          last = key;
          await gh.updateIssueComment(repo, commentId, body);
        } catch (error) {
          log.warn({ err: (error as Error).message }, "could not update the tracking comment");
        }
      });
    };
    const timer = setInterval(update, deps.progressIntervalMs ?? 10_000);
    return {
      now: update,
      async stop() {
        clearInterval(timer);
        await chain;
      },
    };
  }
}
