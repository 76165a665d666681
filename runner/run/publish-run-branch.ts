import { auditHead } from "../../core/audit/audit-head.ts";
import type { RunCheckout } from "../relay/prepare-run-checkout.ts";
import { pushBranch } from "../relay/push-branch.ts";
import { relayWorkspace, type RelayPolicy, type RelayResult } from "../relay/relay-workspace.ts";
import { composeCommitMessage } from "./compose-commit-message.ts";
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
): Promise<void> {
  const { deps, input } = ctx;
  const { runId, branch } = input;
  if (decided.outcome === "cancelled") {
    await ctx.audit("relay.skipped", { reason: "the run was cancelled" });
    return;
  }
  await ctx.enter("publishing");
  await ctx.audit("relay.started", { branch, baseCommit: checkout.baseCommit });
  const head = await auditHead(deps.db, runId);
  const relay = await relayWorkspace({
    hostClone: checkout.hostClone,
    workspace: checkout.workspace,
    runId,
    branch,
    message: composeCommitMessage(
      decided.outcome,
      decided.reason,
      input.subject ?? input.prompt,
      decided.agentSummary,
    ),
    trailers: { "Airlock-Run": runId, "Airlock-Audit": head ?? "none" },
    policy: input.relayPolicy ?? deps.relayPolicy ?? defaultRelayPolicy,
    logger: deps.logger,
    ignoredPaths: [".airlock"],
  });
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
  const result = await pushBranch({
    hostClone: checkout.hostClone,
    remote: input.source.remote,
    branch,
    // Asked again: an installation token minted for the clone may be close to expiry.
    credentials: await ctx.askCredentials(),
    force: input.forcePush,
    logger: deps.logger,
  });
  published.pushed = branch;
  await ctx.audit("relay.pushed", { branch, commit: result.commit, remoteRef: result.remoteRef });
}
