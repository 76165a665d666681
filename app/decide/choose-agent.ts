import type { RepoConfig } from "../../core/repo-config/repo-config.ts";

export type AgentChoice = { ok: true; agent: string } | { ok: false; requested: string; allowed: string[] };

/** The agent a trigger asked for (or the repository's default), if the repository allows it. */
export function chooseAgent(requested: string | undefined, config: RepoConfig): AgentChoice {
  const agent = requested ?? config.defaultAgent;
  return config.agents.includes(agent)
    ? { ok: true, agent }
    : { ok: false, requested: agent, allowed: [...config.agents] };
}
