import { Probot } from "probot";
import type { Logger } from "../logger.ts";
import { createOctokitGitHubApi } from "./create-octokit-github-api.ts";
import { GitHubApiError, type GitHubApi, type GitHubApp } from "./github-api.ts";

export interface GitHubAppCredentials {
  appId: number;
  privateKey: string;
  /** GITHUB_API_URL: api.github.com, a GitHub Enterprise Server's /api/v3, or a test stand-in. */
  apiUrl: string;
}

/**
 * The app's own identity for the runner, which has no webhook context: Probot's auth signs
 * the app JWT and mints (and caches) installation tokens, exactly as the app side does.
 */
export function createGitHubApp(credentials: GitHubAppCredentials, logger: Logger): GitHubApp {
  const probot = new Probot({
    appId: credentials.appId,
    privateKey: credentials.privateKey,
    baseUrl: credentials.apiUrl,
    log: logger.child({ component: "github" }),
  });
  return {
    forInstallation(installationId: number): GitHubApi {
      let api: Promise<GitHubApi> | undefined;
      const get = () => {
        api ??= probot.auth(installationId).then(createOctokitGitHubApi, (error: unknown) => {
          api = undefined;
          throw new GitHubApiError(`could not authenticate as installation ${installationId}`, {
            cause: error,
            status: (error as { status?: number }).status,
          });
        });
        return api;
      };
      return new Proxy({} as GitHubApi, {
        get:
          (_target, method: keyof GitHubApi) =>
          async (...args: unknown[]) =>
            ((await get())[method] as (...a: unknown[]) => Promise<unknown>)(...args),
      });
    },

    async createInstallationToken(installationId, scope) {
      try {
        const octokit = await probot.auth();
        const { data } = await octokit.rest.apps.createInstallationAccessToken({
          installation_id: installationId,
          repositories: scope.repositories,
          permissions: scope.permissions,
        });
        return { token: data.token, expiresAt: data.expires_at };
      } catch (error) {
        throw new GitHubApiError(
          `GitHub refused an installation token for ${scope.repositories.join(", ")}: ${(error as Error).message}`,
          { cause: error, status: (error as { status?: number }).status },
        );
      }
    },
  };
}
