import { createPullRecord, type Issue, type Pull, type Repo } from "./github-state.ts";
import type { StandInCore } from "./stand-in-core.ts";

/**
 * A new open pull request in the shared state: its issue half, numbered after the
 * repository's last issue or pull request (they share the numbering), then the pull itself.
 */
export function addPullRecord(
  core: StandInCore,
  repo: Repo,
  opened: { title: string; body: string | null; user: string } & Pick<
    Pull,
    "head" | "base" | "headSha" | "baseSha" | "draft" | "maintainerCanModify"
  >,
): Pull {
  const now = core.nowIso();
  const number = core.state.issues.filter((i) => i.repo === repo.fullName).length + 1;
  const issue: Issue = {
    id: core.nextId(),
    repo: repo.fullName,
    number,
    title: opened.title,
    body: opened.body,
    user: opened.user,
    labels: [],
    state: "open",
    stateReason: null,
    isPull: true,
    createdAt: now,
    updatedAt: now,
    closedAt: null,
  };
  core.state.issues.push(issue);
  const pull = createPullRecord(issue, {
    id: core.nextId(),
    repo: repo.fullName,
    number,
    head: opened.head,
    base: opened.base,
    headSha: opened.headSha,
    baseSha: opened.baseSha,
    draft: opened.draft,
    maintainerCanModify: opened.maintainerCanModify,
    merged: false,
  });
  core.state.pulls.push(pull);
  return pull;
}
