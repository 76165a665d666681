import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { renderCapabilitiesFile } from "../../core/capabilities/render-capabilities-file.ts";
import { toCapabilitiesFileEntry } from "../../core/capabilities/to-capabilities-file-entry.ts";
import type { CapabilityRequestInput } from "../../core/capabilities/validate-capability-request.ts";
import { listCapabilityRequests, recordCapabilityRequest } from "../../core/db/capability-requests.ts";
import type { Db } from "../../core/db/open-database.ts";
import { getRun, insertRun, parkRun } from "../../core/db/runs.ts";
import type { CapabilityRequest, Run } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { defaultRepoConfig } from "../../core/repo-config/default-repo-config.ts";
import type { RepoConfig } from "../../core/repo-config/repo-config.ts";
import { branchExists, resolveCommit, runGit } from "../stand-ins/github/bare-git-repo.ts";
import type { Repo } from "../stand-ins/github/github-state.ts";

export interface ParkedTestRun {
  run: Run;
  branch: string;
  commit: string;
  requests: CapabilityRequest[];
}

/**
 * A GitHub run as the runner leaves it when it parks (issue 10 §2), made directly in the
 * database and the stand-in's bare repository: the run recorded and running, its requests
 * recorded, a commit with the work and `.github/airlock/capabilities.yml` on its branch,
 * `relay.pushed` in its ledger, then parkRun. The runner's own parking is the lead's.
 */
export async function parkGitHubRun(
  db: Db,
  options: {
    repo: Repo;
    issueNumber: number;
    installationId: number;
    secret: string;
    requests: CapabilityRequestInput[];
    requestedBy: string;
    config?: Partial<RepoConfig>;
    trackingCommentId?: number;
    /** Files of the agent's work, committed with capabilities.yml (which one of them may replace). */
    files?: Record<string, string>;
  },
): Promise<ParkedTestRun> {
  const runId = newRunId();
  const branch = `airlock/${options.issueNumber}-${runId}`;
  await insertRun(db, {
    id: runId,
    kind: "github",
    state: "running",
    attempt: 1,
    agent: "builtin",
    model: "gpt-4.1-mini",
    repo: options.repo.fullName,
    issueNumber: options.issueNumber,
    installationId: options.installationId,
    cloneUrl: options.repo.cloneUrl,
    baseRef: options.repo.defaultBranch,
    headBranch: branch,
    requestedBy: options.requestedBy,
    repoConfig: { ...defaultRepoConfig(), ...options.config },
    trackingCommentId: options.trackingCommentId ?? null,
  });
  for (const request of options.requests) {
    await recordCapabilityRequest(db, { runId, request, secret: options.secret });
  }
  const requests = await listCapabilityRequests(db, runId);
  const commit = await commitFiles(options.repo, branch, {
    [capabilitiesFilePath]: renderCapabilitiesFile(requests.map((r) => toCapabilitiesFileEntry(r))),
    ...(options.files ?? { "work.txt": "the agent's work so far\n" }),
  });
  await appendAuditEvent(db, {
    runId,
    type: "relay.pushed",
    data: { branch, commit, remoteRef: `refs/heads/${branch}` },
    secret: options.secret,
  });
  const parked = await parkRun(db, {
    runId,
    attempt: 1,
    deadline: new Date(Date.now() + 72 * 3600_000),
    reason: `${requests.length} capability request(s) pending`,
  });
  if (!parked) throw new Error(`run ${runId} could not be parked`);
  const run = await getRun(db, runId);
  if (!run) throw new Error(`run ${runId} vanished`);
  return { run, branch, commit, requests };
}

/** One commit on `branch` (from its tip, or the default branch) with `files` written over the tree. */
export async function commitFiles(
  repo: Repo,
  branch: string,
  files: Record<string, string>,
): Promise<string> {
  const scratch = await mkdtemp(join(tmpdir(), "park-run-"));
  const work = join(scratch, "work");
  const env = { GIT_INDEX_FILE: join(scratch, "index") };
  try {
    const parent = (await branchExists(repo.gitDir, branch))
      ? `refs/heads/${branch}`
      : `refs/heads/${repo.defaultBranch}`;
    const parentSha = (await resolveCommit(repo.gitDir, parent)) as string;
    await mkdir(work);
    await runGit(repo.gitDir, ["read-tree", parentSha], env);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), content);
      await runGit(repo.gitDir, ["--work-tree", work, "add", "--", path], env);
    }
    const tree = (await runGit(repo.gitDir, ["write-tree"], env)).toString().trim();
    const commit = (
      await runGit(repo.gitDir, ["commit-tree", tree, "-p", parentSha, "-m", "agent work"], env)
    )
      .toString()
      .trim();
    await runGit(repo.gitDir, ["update-ref", `refs/heads/${branch}`, commit]);
    return commit;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
