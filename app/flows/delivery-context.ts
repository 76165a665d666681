import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { GitHubApi, RepoRef } from "../../core/github/github-api.ts";
import type { Logger } from "../../core/logger.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import type { DeliveryRecord } from "../runs/record-delivery.ts";

/** One webhook delivery about one repository, as every flow sees it. */
export interface DeliveryContext {
  deps: AirlockAppDeps;
  github: GitHubApi;
  /** For replies anyone can ask for: writes paced apart from an admitted run's (send-refusal.ts). */
  refusalGitHub: () => Promise<GitHubApi>;
  /** Bound to the delivery id and the repository; flows add the run id. */
  log: Logger;
  delivery: Omit<DeliveryRecord, "runId">;
  repo: RepoRef;
  repository: { fullName: string; cloneUrl: string; defaultBranch: string };
  sender: { login: string; type: string };
  catalog: readonly AgentDefinition[];
}
