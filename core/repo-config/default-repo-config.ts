import { DEFAULT_AGENT_ID, repoConfigSchema } from "./repo-config-schema.ts";
import type { RepoConfig } from "./repo-config.ts";

/**
 * The configuration of a repository without `.github/airlock.yml`: the builtin agent,
 * `write` to start runs, the default budget. When a catalog is given that lacks the
 * builtin agent, its first agent stands in, so the default never names an agent this
 * Airlock cannot run.
 */
export function defaultRepoConfig(catalogIds?: readonly string[]): RepoConfig {
  const config = repoConfigSchema.parse({});
  const first = catalogIds?.[0];
  if (catalogIds !== undefined && !catalogIds.includes(DEFAULT_AGENT_ID) && first !== undefined) {
    return { ...config, agents: [first], defaultAgent: first };
  }
  return config;
}
