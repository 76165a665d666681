import { randomBytes } from "node:crypto";
import type { Installation, InstallationToken, Repo } from "./github-state.ts";
import { renderApp, renderInstallation, renderRepo, renderToken } from "./render-github-resources.ts";
import { githubError, notFound, type RouteCall, type RouteHandler } from "./stand-in-core.ts";

/** `/app/*` routes (app JWT) and the installation's own repository list (installation token). */
const levels: Record<string, number> = { read: 1, write: 2, admin: 3 };

function installationRepos(call: RouteCall, installationId: number): Repo[] {
  return [...call.core.state.repos.values()].filter((repo) => repo.installationId === installationId);
}

function selectionOf(call: RouteCall, installationId: number): "all" | "selected" {
  return installationRepos(call, installationId).length === 0 ? "all" : "selected";
}

/** An installation as GET /app/installations/{id} and GET /repos/{o}/{r}/installation answer it. */
function installationAnswer(call: RouteCall, installation: Installation) {
  return {
    status: 200,
    body: renderInstallation(call.core.urls, installation, call.core.app, selectionOf(call, installation.id)),
  };
}

/** GitHub's answer when a token is asked for a repository the installation was not granted. */
function notAccessible() {
  return githubError(
    422,
    "There is at least one repository that does not exist or is not accessible to the parent installation.",
    {
      documentationUrl:
        "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
    },
  );
}

export const appRoutes: Record<string, RouteHandler> = {
  "apps/get-authenticated": (call) => ({ status: 200, body: renderApp(call.core.urls, call.core.app) }),

  "apps/list-installations": (call) => ({
    status: 200,
    body: [...call.core.state.installations.values()].map((installation) =>
      renderInstallation(call.core.urls, installation, call.core.app, selectionOf(call, installation.id)),
    ),
  }),

  "apps/get-installation": (call) => {
    const installation = call.core.state.installations.get(Number(call.params.installation_id));
    if (installation === undefined) return notFound();
    return installationAnswer(call, installation);
  },

  "apps/get-repo-installation": (call) => {
    const repo = call.core.findRepo(call.params.owner ?? "", call.params.repo ?? "");
    const installation = repo && call.core.state.installations.get(repo.installationId);
    if (installation === undefined) return notFound();
    return installationAnswer(call, installation);
  },

  "apps/create-installation-access-token": (call) => {
    const installation = call.core.state.installations.get(Number(call.params.installation_id));
    if (installation === undefined) return notFound();
    const granted = installationRepos(call, installation.id);
    const names = call.body.repositories as string[] | undefined;
    const ids = call.body.repository_ids as number[] | undefined;
    let scoped: Repo[] | undefined;
    if (names !== undefined || ids !== undefined) {
      scoped = [];
      for (const name of names ?? []) {
        const repo = granted.find((r) => r.name.toLowerCase() === name.toLowerCase());
        if (repo === undefined) {
          return notAccessible();
        }
        scoped.push(repo);
      }
      for (const id of ids ?? []) {
        const repo = granted.find((r) => r.id === id);
        if (repo === undefined) {
          return notAccessible();
        }
        if (!scoped.includes(repo)) scoped.push(repo);
      }
    }
    const asked = call.body.permissions as Record<string, string> | undefined;
    if (asked !== undefined) {
      for (const [name, level] of Object.entries(asked)) {
        const has = installation.permissions[name];
        if (has === undefined || (levels[level] ?? 99) > (levels[has] ?? 0)) {
          return githubError(422, `The permissions requested are not granted to this installation.`, {
            documentationUrl:
              "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
          });
        }
      }
    }
    const now = new Date();
    const token: InstallationToken = {
      token: `ghs_${randomBytes(18).toString("hex")}`,
      installationId: installation.id,
      repositoryIds: (scoped ?? granted).map((repo) => repo.id),
      repositorySelection: scoped === undefined ? "all" : "selected",
      permissions: asked ?? { ...installation.permissions },
      expiresAt: new Date(now.getTime() + 60 * 60 * 1000),
      createdAt: now,
    };
    call.core.state.tokens.push(token);
    return { status: 201, body: renderToken(call.core.urls, token, scoped) };
  },

  "apps/list-repos-accessible-to-installation": (call) => {
    const token = call.token;
    if (token === undefined) return notFound();
    const repos = installationRepos(call, token.installationId).filter((repo) =>
      token.repositoryIds.includes(repo.id),
    );
    return {
      status: 200,
      body: {
        total_count: repos.length,
        repository_selection: token.repositorySelection,
        repositories: repos.map((repo) => renderRepo(call.core.urls, repo, call.core.openIssueCount(repo))),
      },
    };
  },
};
