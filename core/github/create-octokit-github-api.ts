import type { ProbotOctokit } from "probot";
import {
  GitHubApiError,
  type GitHubApi,
  type IssueCommentInfo,
  type PullInfo,
  type RepoRef,
  type ReviewCommentInfo,
  type RepoRole,
} from "./github-api.ts";

const roles: readonly RepoRole[] = ["none", "read", "triage", "write", "maintain", "admin"];

/**
 * The GitHubApi port over an installation-authenticated Octokit (Probot's `context.octokit`
 * in the app, `probot.auth(installationId)` in the runner). Octokit's RequestError is
 * converted here, once, into GitHubApiError with GitHub's status kept.
 */
export function createOctokitGitHubApi(octokit: ProbotOctokit): GitHubApi {
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      const status = (error as { status?: number }).status;
      throw new GitHubApiError(`GitHub refused to ${what}: ${(error as Error).message}`, {
        cause: error,
        status,
      });
    }
  };
  const toPull = (p: {
    number: number;
    title: string;
    body: string | null;
    head: { ref: string; sha: string };
    base: { ref: string };
    draft?: boolean | undefined;
    state: string;
    html_url: string;
  }): PullInfo => ({
    number: p.number,
    title: p.title,
    body: p.body ?? "",
    headRef: p.head.ref,
    headSha: p.head.sha,
    baseRef: p.base.ref,
    draft: p.draft === true,
    state: p.state === "open" ? "open" : "closed",
    htmlUrl: p.html_url,
  });

  return {
    getRepository: (repo) =>
      call(`read repository ${name(repo)}`, async () => {
        const { data } = await octokit.rest.repos.get({ ...repo });
        return {
          fullName: data.full_name,
          defaultBranch: data.default_branch,
          cloneUrl: data.clone_url,
          htmlUrl: data.html_url,
        };
      }),

    getRole: (repo, login) =>
      call(`read ${login}'s permission on ${name(repo)}`, async () => {
        try {
          const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
            ...repo,
            username: login,
          });
          const role = (data.role_name ?? data.permission) as RepoRole;
          return roles.includes(role) ? role : "none";
        } catch (error) {
          // GitHub answers 404 for a user who is not a collaborator (and for unknown users).
          if ((error as { status?: number }).status === 404) return "none";
          throw error;
        }
      }),

    readFile: (repo, path, ref) =>
      call(`read ${path} in ${name(repo)}`, async () => {
        try {
          const { data } = await octokit.rest.repos.getContent({ ...repo, path, ...(ref ? { ref } : {}) });
          if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return undefined;
          return Buffer.from(data.content, "base64").toString("utf8");
        } catch (error) {
          if ((error as { status?: number }).status === 404) return undefined;
          throw error;
        }
      }),

    getIssue: (repo, issueNumber) =>
      call(`read issue #${issueNumber} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.issues.get({ ...repo, issue_number: issueNumber });
        return {
          number: data.number,
          title: data.title,
          body: data.body ?? "",
          author: data.user?.login ?? "ghost",
          authorType: data.user?.type ?? "User",
          isPullRequest: data.pull_request !== undefined,
          htmlUrl: data.html_url,
        };
      }),

    listIssueComments: (repo, issueNumber) =>
      call(`list the comments of #${issueNumber} in ${name(repo)}`, async () => {
        const all = await octokit.paginate(octokit.rest.issues.listComments, {
          ...repo,
          issue_number: issueNumber,
          per_page: 100,
        });
        return all.map((c): IssueCommentInfo => ({
          id: c.id,
          author: c.user?.login ?? "ghost",
          authorType: c.user?.type ?? "User",
          body: c.body ?? "",
          createdAt: c.created_at,
        }));
      }),

    createIssueComment: (repo, issueNumber, body) =>
      call(`comment on #${issueNumber} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.issues.createComment({
          ...repo,
          issue_number: issueNumber,
          body,
        });
        return { id: data.id, htmlUrl: data.html_url };
      }),

    updateIssueComment: (repo, commentId, body) =>
      call(`edit comment ${commentId} in ${name(repo)}`, async () => {
        await octokit.rest.issues.updateComment({ ...repo, comment_id: commentId, body });
      }),

    addReaction: (repo, target, content) =>
      call(`react in ${name(repo)}`, async () => {
        if ("issueNumber" in target) {
          await octokit.rest.reactions.createForIssue({ ...repo, issue_number: target.issueNumber, content });
        } else if ("commentId" in target) {
          await octokit.rest.reactions.createForIssueComment({
            ...repo,
            comment_id: target.commentId,
            content,
          });
        } else {
          await octokit.rest.reactions.createForPullRequestReviewComment({
            ...repo,
            comment_id: target.reviewCommentId,
            content,
          });
        }
      }),

    ensureLabel: (repo, label) =>
      call(`create label ${label.name} in ${name(repo)}`, async () => {
        try {
          await octokit.rest.issues.createLabel({ ...repo, ...label });
          return "created" as const;
        } catch (error) {
          // 422 already_exists: someone (or an earlier installation) made it.
          if ((error as { status?: number }).status === 422) return "exists" as const;
          throw error;
        }
      }),

    getPull: (repo, pullNumber) =>
      call(`read pull request #${pullNumber} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: pullNumber });
        return toPull(data);
      }),

    findOpenPull: (repo, branch) =>
      call(`look for the pull request of ${branch} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.pulls.list({
          ...repo,
          head: `${repo.owner}:${branch}`,
          state: "open",
          per_page: 10,
        });
        const found = data.find((p) => p.head.ref === branch);
        return found === undefined ? undefined : toPull(found);
      }),

    createPull: (repo, pull) =>
      call(`open a pull request for ${pull.head} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.pulls.create({ ...repo, ...pull });
        return toPull(data);
      }),

    updatePull: (repo, pullNumber, change) =>
      call(`update pull request #${pullNumber} in ${name(repo)}`, async () => {
        await octokit.rest.pulls.update({ ...repo, pull_number: pullNumber, ...change });
      }),

    createReview: (repo, pullNumber, review) =>
      call(`review pull request #${pullNumber} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.pulls.createReview({
          ...repo,
          pull_number: pullNumber,
          commit_id: review.commitId,
          body: review.body,
          event: review.event,
          comments: review.comments.map((c) => ({ path: c.path, line: c.line, side: "RIGHT", body: c.body })),
        });
        return { id: data.id, htmlUrl: data.html_url };
      }),

    listReviewComments: (repo, pullNumber) =>
      call(`list the review comments of #${pullNumber} in ${name(repo)}`, async () => {
        const all = await octokit.paginate(octokit.rest.pulls.listReviewComments, {
          ...repo,
          pull_number: pullNumber,
          per_page: 100,
        });
        return all.map((c): ReviewCommentInfo => ({
          id: c.id,
          reviewId: c.pull_request_review_id ?? null,
          author: c.user?.login ?? "ghost",
          authorType: c.user?.type ?? "User",
          body: c.body,
          path: c.path,
          line: c.line ?? null,
          inReplyToId: c.in_reply_to_id ?? null,
          htmlUrl: c.html_url,
        }));
      }),

    replyToReviewComment: (repo, pullNumber, commentId, body) =>
      call(`reply to review comment ${commentId} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.pulls.createReplyForReviewComment({
          ...repo,
          pull_number: pullNumber,
          comment_id: commentId,
          body,
        });
        return { id: data.id, htmlUrl: data.html_url };
      }),
    dispatchWorkflow: (repo, workflow, dispatch) =>
      call(`dispatch workflow ${workflow} in ${name(repo)}`, async () => {
        // return_run_details: GitHub answers 200 with the run's id instead of 204, so the
        // workflow_run webhook can be matched to this dispatch by id.
        const { data } = await octokit.request(
          "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
          {
            ...repo,
            workflow_id: workflow,
            ref: dispatch.ref,
            inputs: dispatch.inputs,
            return_run_details: true,
          },
        );
        const id = (data as { workflow_run_id?: unknown } | undefined)?.workflow_run_id;
        if (typeof id !== "number") throw new Error("GitHub did not answer with the workflow run's id");
        return { workflowRunId: id };
      }),
    listCheckRuns: (repo, ref, checkName) =>
      call(`list check runs ${checkName} of ${ref} in ${name(repo)}`, async () => {
        const { data } = await octokit.rest.checks.listForRef({
          ...repo,
          ref,
          check_name: checkName,
          status: "completed",
          per_page: 100,
        });
        return data.check_runs.map((r) => ({
          id: r.id,
          externalId: r.external_id,
          conclusion: r.conclusion,
          appSlug: r.app?.slug,
          outputText: r.output.text,
        }));
      }),
  };
}

function name(repo: RepoRef): string {
  return `${repo.owner}/${repo.repo}`;
}
