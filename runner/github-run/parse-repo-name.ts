import type { RepoRef } from "../../core/github/github-api.ts";

/** `owner/name` as the app recorded it in runs.repo. */
export function parseRepoName(fullName: string | null): RepoRef {
  const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(fullName ?? "");
  if (!match) throw new Error(`run has no valid repository name (got "${fullName ?? ""}")`);
  return { owner: match[1]!, repo: match[2]! };
}
