/** Airlock's own branches are `airlock/<issue>-<run>` (DESIGN §1, step 7). */
export const airlockBranchPrefix = "airlock/";

export function isAirlockBranch(ref: string): boolean {
  return ref.startsWith(airlockBranchPrefix);
}

/** The issue and run an Airlock branch was made for; undefined when the name is not Airlock's shape. */
export function parseAirlockBranch(ref: string): { issueNumber: number; runId: string } | undefined {
  const match = /^airlock\/(\d{1,9})-([a-z0-9][a-z0-9_-]{0,63})$/.exec(ref);
  if (!match) return undefined;
  return { issueNumber: Number(match[1]), runId: match[2]! };
}

export function formatAirlockBranch(issueNumber: number, runId: string): string {
  return `${airlockBranchPrefix}${issueNumber}-${runId}`;
}
