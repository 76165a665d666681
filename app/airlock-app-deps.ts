import type { AgentDefinition } from "../core/agents/agent-definition.ts";
import type { Db } from "../core/db/open-database.ts";
import type { GitHubApi } from "../core/github/github-api.ts";
import type { Logger } from "../core/logger.ts";
import type { ProbotOctokit } from "probot";
import type { RefusalDesk } from "./replies/create-refusal-desk.ts";

/** The cap on a task's text unless `maxTaskChars` says otherwise. */
export const defaultMaxTaskChars = 24_000;

/** What the webhook handlers need; `airlock app` / `airlock up` build it, tests pass fakes. */
export interface AirlockAppDeps {
  db: Db;
  logger: Logger;
  /** AIRLOCK_TOKEN_SECRET: keys the audit ledger's HMACs. */
  tokenSecret: string;
  /** The agents this Airlock runs (default: the built-in catalog). */
  catalog?: readonly AgentDefinition[] | undefined;
  /** The GitHub port for one delivery's installation, from Probot's `context.octokit`. */
  githubFor: (octokit: ProbotOctokit) => GitHubApi;
  /**
   * The GitHub port refusals are posted through: the same installation, but writes paced in
   * a throttle queue apart from the installation's (`createLaneGitHubApi`).
   */
  refusalGitHubFor: (octokit: ProbotOctokit, installationId: number) => Promise<GitHubApi>;
  /** Where replies anyone can ask for (refusals, help) wait their turn; one per process. */
  refusals: RefusalDesk;
  /** Cap on the task text handed to the agent (default 24,000 characters). */
  maxTaskChars?: number | undefined;
}
