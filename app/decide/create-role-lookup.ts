import type { GitHubApi, RepoRef, RepoRole } from "../../core/github/github-api.ts";

/** Each login's role read from GitHub once per delivery, however many comments they wrote. */
export function createRoleLookup(github: GitHubApi, repo: RepoRef): (login: string) => Promise<RepoRole> {
  const seen = new Map<string, Promise<RepoRole>>();
  return (login) => {
    const key = login.toLowerCase();
    let role = seen.get(key);
    if (!role) {
      role = github.getRole(repo, login);
      seen.set(key, role);
    }
    return role;
  };
}
