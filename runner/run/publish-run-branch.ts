import { join } from "node:path";
import { auditHead } from "../../core/audit/audit-head.ts";
import type { RunCheckout } from "../relay/prepare-run-checkout.ts";
import { pushBranch } from "../relay/push-branch.ts";
import { relayWorkspace, type RelayPolicy, type RelayResult } from "../relay/relay-workspace.ts";
import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { openGitRunner } from "../relay/git-runner.ts";
import { composeBranchCapabilitiesFile } from "./compose-branch-capabilities-file.ts";
import { composeCommitMessage, composePauseCommitMessage } from "./compose-commit-message.ts";
import type { RecordedOutcome } from "./record-run-outcome.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

const defaultRelayPolicy: RelayPolicy = {
  allowWorkflowChanges: false,
  maxFiles: 2000,
  maxFileBytes: 10 * 1024 * 1024,
  maxTotalBytes: 100 * 1024 * 1024,
};

/** What publishing got to; filled as it goes, so a push that fails still reports the commit. */
export interface PublishedBranch {
  relay?: RelayResult | undefined;
  /** The branch, once pushed. */
  pushed?: string | undefined;
}

/**
 * Phase 4, even for a partial result (budget_exhausted, timed_out, and failed too: what the
 * agent left is worth a look, and the subject, commit body and summary all say it is
 * partial). A cancel means the operator wants it stopped, so nothing is published.
 *
 * Audit `relay.started`, take the chain head, commit with trailers `Airlock-Run` and
 * `Airlock-Audit: <that head>`, audit `relay.committed`, push, audit `relay.pushed`. The
 * trailer therefore names the hash of the `relay.started` entry: the ledger as it stood
 * when the commit was made; the entries after it record the commit and the push, and
 * chain from it.
 */
export async function publishRunBranch(
  ctx: RunPhaseContext,
  checkout: RunCheckout,
  decided: RecordedOutcome,
  published: PublishedBranch,
  options: { pausedFor?: readonly string[] | undefined } = {},
): Promise<void> {
  const { deps, input } = ctx;
  const { runId, branch } = input;
  if (decided.outcome === "cancelled") {
    await ctx.audit("relay.skipped", { reason: "the run was cancelled" });
    return;
  }
  if (options.pausedFor === undefined) await ctx.enter("publishing");
  await ctx.audit("relay.started", { branch, baseCommit: checkout.baseCommit });
  const capabilitiesFile = await composeRunCapabilitiesFile(ctx, checkout);
  const head = await auditHead(deps.db, runId);
  const relay = await ctx.time("relay", () =>
    relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId,
      branch,
      message:
        options.pausedFor === undefined
          ? composeCommitMessage(
              decided.outcome,
              decided.reason,
              input.subject ?? input.prompt,
              decided.agentSummary,
            )
          : composePauseCommitMessage(options.pausedFor, input.subject ?? input.prompt, decided.agentSummary),
      trailers: { "Airlock-Run": runId, "Airlock-Audit": head ?? "none" },
      policy: input.relayPolicy ?? deps.relayPolicy ?? defaultRelayPolicy,
      logger: deps.logger,
      ignoredPaths: [".airlock"],
      hostFiles:
        capabilitiesFile === undefined ? [] : [{ path: capabilitiesFilePath, content: capabilitiesFile }],
    }),
  );
  published.relay = relay;
  await ctx.audit("relay.committed", {
    branch,
    commit: relay.commit ?? null,
    auditHeadInTrailer: head ?? null,
    filesChanged: relay.filesChanged,
    heldBack: relay.heldBack,
    refused: relay.refused,
    refusedOmitted: relay.refusedOmitted,
  });
  if (relay.commit === undefined) {
    await ctx.audit("relay.skipped", { reason: "the agent changed no files that could be relayed" });
    return;
  }
  const result = await ctx.time("push", async () =>
    pushBranch({
      hostClone: checkout.hostClone,
      remote: input.source.remote,
      branch,
      // Asked again: an installation token minted for the clone may be close to expiry.
      credentials: await ctx.askCredentials(),
      force: input.forcePush,
      logger: deps.logger,
    }),
  );
  published.pushed = branch;
  await ctx.audit("relay.pushed", { branch, commit: result.commit, remoteRef: result.remoteRef });
}

/** The run's requests as `.github/airlock/capabilities.yml` on its branch (undefined: it asked for nothing). */
async function composeRunCapabilitiesFile(
  ctx: RunPhaseContext,
  checkout: RunCheckout,
): Promise<string | undefined> {
  const requests = await listCapabilityRequests(ctx.deps.db, ctx.input.runId);
  if (requests.length === 0) return undefined;
  const git = await openGitRunner({ logger: ctx.log });
  try {
    return await composeBranchCapabilitiesFile({
      git,
      gitDir: join(checkout.hostClone, ".git"),
      baseCommit: checkout.baseCommit,
      runId: ctx.input.runId,
      requests,
      logger: ctx.log,
    });
  } finally {
    await git.close();
  }
}
