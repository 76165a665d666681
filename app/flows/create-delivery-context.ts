import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import type { WebhookDelivery } from "../handlers/webhook-delivery.ts";
import type { DeliveryContext } from "./delivery-context.ts";

export interface DeliveryFacts {
  action: string;
  installationId: number;
  repository: {
    full_name: string;
    name: string;
    owner: { login: string };
    clone_url: string;
    default_branch: string;
  };
  sender: { login: string; type: string };
}

export function createDeliveryContext(
  deps: AirlockAppDeps,
  delivery: WebhookDelivery,
  facts: DeliveryFacts,
): DeliveryContext {
  const fullName = facts.repository.full_name;
  return {
    deps,
    github: deps.githubFor(delivery.octokit),
    refusalGitHub: () => deps.refusalGitHubFor(delivery.octokit, facts.installationId),
    log: deps.logger.child({
      deliveryId: delivery.id,
      event: `${delivery.name}.${facts.action}`,
      repo: fullName,
    }),
    delivery: {
      id: delivery.id,
      event: delivery.name,
      action: facts.action,
      installationId: facts.installationId,
      repo: fullName,
    },
    repo: { owner: facts.repository.owner.login, repo: facts.repository.name },
    repository: {
      fullName,
      cloneUrl: facts.repository.clone_url,
      defaultBranch: facts.repository.default_branch,
    },
    sender: { login: facts.sender.login, type: facts.sender.type },
    catalog: deps.catalog ?? agentCatalog,
  };
}
