import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import { defaultRepoConfig } from "../../core/repo-config/default-repo-config.ts";
import { parseRepoConfig } from "../../core/repo-config/parse-repo-config.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import { configPath } from "../flows/admit-sender.ts";
import { renderAgentLabel } from "../messages/render-agent-label.ts";
import { installationReposSchema } from "../payloads/webhook-payload-schemas.ts";
import { parsePayload } from "../payloads/parse-payload.ts";
import type { WebhookDelivery } from "./webhook-delivery.ts";

/**
 * `installation.created` and `installation_repositories.added`: each repository gets a label
 * `airlock:<agent>` per allowed agent (the defaults when its config is missing or invalid).
 * Creating a label twice is harmless, so a redelivery needs no record. One repository's
 * failure is logged and the others still get their labels.
 */
export async function handleInstallation(deps: AirlockAppDeps, delivery: WebhookDelivery): Promise<void> {
  const payload = parsePayload(installationReposSchema, delivery.payload, delivery.name);
  const github = deps.githubFor(delivery.octokit);
  const agentIds = (deps.catalog ?? agentCatalog).map((a) => a.id);
  const repositories = payload.repositories_added ?? payload.repositories ?? [];
  for (const { full_name: fullName } of repositories) {
    const log = deps.logger.child({ deliveryId: delivery.id, event: delivery.name, repo: fullName });
    const [owner, name] = fullName.split("/");
    if (!owner || !name) {
      log.warn("repository name is not owner/name; skipped");
      continue;
    }
    const repo = { owner, repo: name };
    try {
      const parsed = parseRepoConfig(await github.readFile(repo, configPath), { agentIds });
      const agents = parsed.ok ? parsed.config.agents : defaultRepoConfig(agentIds).agents;
      for (const agent of agents) {
        const result = await github.ensureLabel(repo, renderAgentLabel(agent));
        log.info({ label: `airlock:${agent}`, result }, "agent label ensured");
      }
    } catch (error) {
      log.error({ err: (error as Error).message }, "could not create the agent labels");
    }
  }
}
