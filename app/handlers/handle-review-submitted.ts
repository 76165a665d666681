import { listParkedRunsOfPull } from "../../core/db/runs.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { approveParkedRuns } from "../flows/approve-parked-runs.ts";
import { createDeliveryContext } from "../flows/create-delivery-context.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import { reviewSubmittedSchema } from "../payloads/webhook-payload-schemas.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/**
 * `pull_request_review.submitted`: an approved review of a pull request whose runs are
 * parked waiting for capability decisions grants their requests (issue 10 §4). Any other
 * review, or a pull request with nothing parked, is none of Airlock's business: ignored,
 * with no record and no reply.
 */
export async function handleReviewSubmitted(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(reviewSubmittedSchema, delivery.payload, "pull_request_review.submitted");
  if (payload.review.state.toLowerCase() !== "approved") return;
  const runs = await listParkedRunsOfPull(deps.db, payload.repository.full_name, payload.pull_request.number);
  if (runs.length === 0) return;
  const ctx = createDeliveryContext(deps, delivery, {
    action: "submitted",
    installationId: payload.installation.id,
    repository: payload.repository,
    sender: payload.sender,
  });
  await approveParkedRuns(ctx, {
    prNumber: payload.pull_request.number,
    commitId: payload.review.commit_id,
    headSha: payload.pull_request.head.sha,
    runs,
  });
}
