import type { ProbotOctokit } from "probot";
import { createOctokitGitHubApi } from "./create-octokit-github-api.ts";
import type { GitHubApi } from "./github-api.ts";

/**
 * The GitHub port for the same installation as `octokit`, whose writes Octokit's throttle
 * paces in a queue of their own. Probot keys the throttle's queues (one write a second, one
 * comment every 3 s) by installation id, so every comment of an installation waits in one
 * line; a refusal to a stranger must not stand in front of an admitted run's tracking
 * comment (issue 9 §6). The installation token is the one `octokit` already holds (cached
 * by Probot), handed to a new client of the same class with the throttle id `lane`.
 */
export async function createLaneGitHubApi(octokit: ProbotOctokit, lane: string): Promise<GitHubApi> {
  const { token } = (await octokit.auth({ type: "installation" })) as { token: string };
  const Octokit = octokit.constructor as typeof ProbotOctokit;
  return createOctokitGitHubApi(new Octokit({ auth: { token }, throttle: { id: lane } }));
}
