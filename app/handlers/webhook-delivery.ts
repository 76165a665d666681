import type { ProbotOctokit } from "probot";

/** What a handler needs from Probot's context: the delivery id, the event, the payload, an installation client. */
export interface WebhookDelivery {
  /** X-GitHub-Delivery. */
  id: string;
  name: string;
  payload: unknown;
  octokit: ProbotOctokit;
}
