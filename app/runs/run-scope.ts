import { and, eq, or, type SQL } from "drizzle-orm";
import { runs } from "../../core/db/schema.ts";

/**
 * Where runs are counted for "one active run at a time", stop and retry: an issue, or an
 * Airlock pull request (its branch, or its number once the runner has opened it).
 */
export type RunScope =
  | { kind: "issue"; repo: string; issueNumber: number }
  | { kind: "pull"; repo: string; headBranch: string; prNumber: number };

export function matchRunScope(scope: RunScope): SQL {
  if (scope.kind === "issue") return and(eq(runs.repo, scope.repo), eq(runs.issueNumber, scope.issueNumber))!;
  return and(
    eq(runs.repo, scope.repo),
    or(eq(runs.headBranch, scope.headBranch), eq(runs.prNumber, scope.prNumber)),
  )!;
}

/** A key for the advisory lock that serializes run decisions within one scope. */
export function describeRunScope(scope: RunScope): string {
  return scope.kind === "issue" ? `${scope.repo}#${scope.issueNumber}` : `${scope.repo}@${scope.headBranch}`;
}
