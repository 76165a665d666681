import { readPath, resolveCommit } from "./bare-git-repo.ts";
import type { Role } from "./github-state.ts";
import { renderRepo, renderUser } from "./render-github-resources.ts";
import { notFound, type RouteHandler } from "./stand-in-core.ts";

/** Repository metadata, branches, file contents and collaborator permissions. */
const permissionOfRole: Record<Role, string> = {
  admin: "admin",
  maintain: "write",
  write: "write",
  triage: "read",
  read: "read",
  none: "none",
};

export const repoRoutes: Record<string, RouteHandler> = {
  "repos/get": (call) => {
    const repo = call.repo;
    if (repo === undefined) return notFound();
    return { status: 200, body: renderRepo(call.core.urls, repo, call.core.openIssueCount(repo)) };
  },

  "repos/get-branch": async (call) => {
    const repo = call.repo;
    if (repo === undefined) return notFound();
    const branch = call.params.branch ?? "";
    const sha = await resolveCommit(repo.gitDir, `refs/heads/${branch}`);
    if (sha === undefined) {
      return {
        status: 404,
        body: {
          message: "Branch not found",
          documentation_url: "https://docs.github.com/rest/branches/branches#get-a-branch",
          status: "404",
        },
      };
    }
    const api = `${call.core.urls.api}/repos/${repo.fullName}`;
    const commitUrl = `${api}/commits/${sha}`;
    const person = { name: "Stand-in", email: "stand-in@example.invalid", date: call.core.nowIso() };
    return {
      status: 200,
      body: {
        name: branch,
        commit: {
          sha,
          node_id: Buffer.from(`Commit:${sha}`).toString("base64"),
          url: commitUrl,
          html_url: `${repo.htmlUrl}/commit/${sha}`,
          comments_url: `${commitUrl}/comments`,
          commit: {
            url: `${api}/git/commits/${sha}`,
            author: person,
            committer: person,
            message: "",
            comment_count: 0,
            tree: { sha, url: `${api}/git/trees/${sha}` },
          },
          author: null,
          committer: null,
          parents: [],
        },
        _links: { self: `${api}/branches/${branch}`, html: `${repo.htmlUrl}/tree/${branch}` },
        protected: false,
        protection: { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [] } },
        protection_url: `${api}/branches/${branch}/protection`,
      },
    };
  },

  "repos/get-content": async (call) => {
    const repo = call.repo;
    if (repo === undefined) return notFound();
    const ref = typeof call.query.ref === "string" ? call.query.ref : repo.defaultBranch;
    const commit = await resolveCommit(repo.gitDir, ref);
    if (commit === undefined) {
      return {
        status: 404,
        body: {
          message: `No commit found for the ref ${ref}`,
          documentation_url: "https://docs.github.com/rest/repos/contents#get-repository-content",
          status: "404",
        },
      };
    }
    const path = (call.params.path ?? "").replace(/^\/+|\/+$/g, "");
    const entry = await readPath(repo.gitDir, commit, path);
    if (entry === undefined) return notFound();
    const api = `${call.core.urls.api}/repos/${repo.fullName}`;
    const describe = (type: "file" | "dir", entryPath: string, sha: string, size: number) => {
      const url = `${api}/contents/${entryPath}?ref=${encodeURIComponent(ref)}`;
      const html = `${repo.htmlUrl}/${type === "dir" ? "tree" : "blob"}/${ref}/${entryPath}`;
      const git = `${api}/git/${type === "dir" ? "trees" : "blobs"}/${sha}`;
      return {
        name: entryPath.split("/").pop() ?? entryPath,
        path: entryPath,
        sha,
        size,
        url,
        html_url: html,
        git_url: git,
        download_url:
          type === "file" ? `${call.core.urls.web}/raw/${repo.fullName}/${ref}/${entryPath}` : null,
        type,
        _links: { self: url, git, html },
      };
    };
    if (entry.type === "dir") {
      return {
        status: 200,
        body: entry.entries.map((child) =>
          describe(child.type, path === "" ? child.name : `${path}/${child.name}`, child.sha, child.size),
        ),
      };
    }
    const accept = String(call.headers.accept ?? "");
    if (/application\/vnd\.github(\.v3)?\.raw/.test(accept)) {
      return { status: 200, raw: entry.content, headers: { "content-type": "text/plain; charset=utf-8" } };
    }
    // GitHub wraps base64 at 60 columns with newlines; decoders must cope, so do the same.
    const base64 = entry.content.toString("base64").replace(/(.{60})/g, "$1\n");
    return {
      status: 200,
      body: {
        ...describe("file", path, entry.sha, entry.content.length),
        content: base64,
        encoding: "base64",
      },
    };
  },

  "repos/get-collaborator-permission-level": (call) => {
    const repo = call.repo;
    if (repo === undefined) return notFound();
    const login = call.params.username ?? "";
    const user = call.core.state.users.get(login.toLowerCase());
    if (user === undefined) {
      return {
        status: 404,
        body: {
          message: `${login} is not a user`,
          documentation_url:
            "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user",
          status: "404",
        },
      };
    }
    const role: Role =
      user.login.toLowerCase() === repo.owner.login.toLowerCase()
        ? "admin"
        : (call.core.state.permissions.get(repo.fullName.toLowerCase())?.get(user.login.toLowerCase()) ??
          "none");
    const permission = permissionOfRole[role];
    return {
      status: 200,
      body: {
        permission,
        role_name: role,
        user: {
          ...renderUser(call.core.urls, user),
          permissions: {
            admin: role === "admin",
            maintain: role === "admin" || role === "maintain",
            push: permission === "write" || permission === "admin",
            triage: role !== "read" && role !== "none",
            pull: role !== "none",
          },
          role_name: role,
        },
      },
    };
  },
};
