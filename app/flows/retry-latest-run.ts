import type { Run, RunTrigger } from "../../core/db/schema.ts";
import type { ReactionTarget } from "../../core/github/github-api.ts";
import { renderNothingToRetry } from "../messages/render-nothing-to-retry.ts";
import type { RunScope } from "../runs/run-scope.ts";
import { admitSender } from "./admit-sender.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { replyOnce } from "./reply-once.ts";
import { startGitHubRun } from "./start-github-run.ts";

/**
 * `/airlock retry`: the latest run's task again, with its agent and model, under the
 * configuration as it is now (re-read, so a tightened budget applies). A retry on an Airlock
 * pull request continues its branch; on an issue it starts afresh from the default branch.
 */
export async function retryLatestRun(
  ctx: DeliveryContext,
  request: {
    replyTo: number;
    reactTo: ReactionTarget;
    scope: RunScope;
    latest: Run | undefined;
    trigger: RunTrigger;
    followUp?: { branch: string; prNumber: number } | undefined;
  },
): Promise<void> {
  const latest = request.latest;
  if (latest === undefined) {
    const admission = await admitSender(ctx, request.replyTo, { needConfig: false });
    if (admission.admitted)
      await replyOnce(ctx, request.replyTo, renderNothingToRetry(ctx.sender.login), "nothing to retry");
    return;
  }
  await startGitHubRun(ctx, {
    replyTo: request.replyTo,
    reactTo: request.reactTo,
    agent: latest.agent ?? undefined,
    model: latest.model ?? undefined,
    trigger: request.trigger,
    scope: request.scope,
    issueNumber: latest.issueNumber ?? request.replyTo,
    followUp: request.followUp ? { ...request.followUp, of: latest.id } : undefined,
    // The stored prompt was built (and cleaned) from trusted text when the run was asked for.
    buildTask: () =>
      Promise.resolve({ prompt: latest.prompt ?? "", hasTrustedText: (latest.prompt ?? "") !== "" }),
  });
}
