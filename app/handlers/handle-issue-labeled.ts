import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { parseAirlockLabel } from "../decide/parse-airlock-label.ts";
import { createDeliveryContext } from "../flows/create-delivery-context.ts";
import { startGitHubRun } from "../flows/start-github-run.ts";
import { issuesLabeledSchema } from "../payloads/webhook-payload-schemas.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { issueTaskBuilder } from "../task/issue-task-builder.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/** `issues.labeled` with `airlock:<agent>` hands the issue to that agent; other labels are not Airlock's business. */
export async function handleIssueLabeled(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(issuesLabeledSchema, delivery.payload, "issues.labeled");
  const agent = parseAirlockLabel(payload.label?.name ?? "");
  if (agent === undefined) return;
  const ctx = createDeliveryContext(deps, delivery, {
    action: "labeled",
    installationId: payload.installation.id,
    repository: payload.repository,
    sender: payload.sender,
  });
  const issue = payload.issue;
  await startGitHubRun(ctx, {
    replyTo: issue.number,
    reactTo: { issueNumber: issue.number },
    agent,
    trigger: { event: "issues.labeled", kind: "label", sender: payload.sender.login },
    scope: { kind: "issue", repo: ctx.repository.fullName, issueNumber: issue.number },
    issueNumber: issue.number,
    buildTask: issueTaskBuilder(ctx, issue),
  });
}
