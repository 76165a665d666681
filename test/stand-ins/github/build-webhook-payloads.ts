import { createRequire } from "node:module";
import type {
  Installation,
  Issue,
  IssueComment,
  Pull,
  Repo,
  Review,
  ReviewComment,
  WorkflowRun,
} from "./github-state.ts";
import {
  renderInstallation,
  renderLabel,
  renderNodeId,
  renderReview,
  renderUser,
} from "./render-github-resources.ts";
import { ensureLabel } from "./issue-routes.ts";
import type { StandInCore } from "./stand-in-core.ts";
import { viewIssue, viewIssueComment, viewPull, viewRepo, viewReviewComment } from "./stand-in-views.ts";

/**
 * Webhook payloads that start from GitHub's own examples (`@octokit/webhooks-examples`),
 * deep-cloned, with every field the stand-in knows overwritten from its state, and the
 * `installation: {id, node_id}` field GitHub adds for app deliveries (most examples lack it).
 */
type Json = Record<string, unknown>;
type Definition = { name: string; examples: Json[] };

export type WebhookPayloads = {
  /** Also applies `label` to the issue in the stand-in's state (creating the label if needed). */
  issuesLabeled(opts: { repo: string | Repo; issue: number | Issue; label: string; sender: string }): Json;
  issueCommentCreated(opts: {
    repo: string | Repo;
    issue: number | Issue;
    comment: number | IssueComment;
    sender?: string;
  }): Json;
  pullRequestReviewCommentCreated(opts: {
    repo: string | Repo;
    pull: number | Pull;
    comment: number | ReviewComment;
    sender?: string;
  }): Json;
  /** A review already in the stand-in's state (addReview), as `pull_request_review.submitted`. */
  pullRequestReviewSubmitted(opts: {
    repo: string | Repo;
    pull: number | Pull;
    review: number | Review;
    sender?: string;
  }): Json;
  installationCreated(opts: { installation: number | Installation; sender: string }): Json;
  installationRepositoriesAdded(opts: {
    installation: number | Installation;
    repos: (string | Repo)[];
    sender: string;
  }): Json;
  /** A workflow run of the stand-in's state (completeWorkflowRun) as `workflow_run.completed`. */
  workflowRunCompleted(opts: { run: WorkflowRun }): Json;
};

function loadExamples(): Definition[] {
  const require = createRequire(import.meta.url);
  return require("@octokit/webhooks-examples") as Definition[];
}

function example(definitions: Definition[], name: string, action: string): Json {
  const found = definitions.find((d) => d.name === name)?.examples.find((e) => e.action === action);
  if (found === undefined) throw new Error(`@octokit/webhooks-examples has no ${name}.${action} example`);
  return structuredClone(found);
}

export function createWebhookPayloads(core: StandInCore): WebhookPayloads {
  const definitions = loadExamples();
  const { state } = core;
  const repoOf = (repo: string | Repo): Repo => {
    const found = typeof repo === "string" ? state.repos.get(repo.toLowerCase()) : repo;
    if (found === undefined) throw new Error(`no stand-in repository ${String(repo)}: createRepo it first`);
    return found;
  };
  const issueOf = (repo: Repo, issue: number | Issue): Issue => {
    if (typeof issue !== "number") return issue;
    const found = state.issues.find((i) => i.repo === repo.fullName && i.number === issue);
    if (found === undefined) throw new Error(`no issue ${repo.fullName}#${issue} in the stand-in`);
    return found;
  };
  const installationOf = (installation: number | Installation): Installation => {
    if (typeof installation !== "number") return installation;
    const found = state.installations.get(installation);
    if (found === undefined) throw new Error(`no installation ${installation}: createInstallation it first`);
    return found;
  };
  const installationRef = (id: number) => ({ id, node_id: renderNodeId("IntegrationInstallation", id) });
  const sender = (login: string) => renderUser(core.urls, core.ensureUser(login));
  const shortRepo = (repo: Repo) => ({
    id: repo.id,
    node_id: renderNodeId("Repository", repo.id),
    name: repo.name,
    full_name: repo.fullName,
    private: repo.private,
  });
  const withRepoContext = (payload: Json, repo: Repo, senderLogin: string): Json => {
    payload.repository = { ...(payload.repository as Json), ...viewRepo(core, repo) };
    payload.sender = sender(senderLogin);
    payload.installation = installationRef(repo.installationId);
    if (repo.owner.type === "Organization") {
      payload.organization = {
        ...(payload.organization as Json),
        login: repo.owner.login,
        id: repo.owner.id,
      };
    } else {
      delete payload.organization;
    }
    return payload;
  };

  return {
    issuesLabeled: (opts) => {
      const repo = repoOf(opts.repo);
      const issue = issueOf(repo, opts.issue);
      // `labeled` reports a label already applied: create it if needed and put it on the
      // issue first, so the payload and later REST reads agree.
      const label = ensureLabel(core, repo, opts.label);
      if (!issue.labels.some((name) => name.toLowerCase() === label.name.toLowerCase())) {
        issue.labels.push(label.name);
        issue.updatedAt = core.nowIso();
      }
      const payload = example(definitions, "issues", "labeled");
      payload.issue = { ...(payload.issue as Json), ...viewIssue(core, issue) };
      payload.label = renderLabel(core.urls, label);
      return withRepoContext(payload, repo, opts.sender);
    },

    issueCommentCreated: (opts) => {
      const repo = repoOf(opts.repo);
      const issue = issueOf(repo, opts.issue);
      const comment =
        typeof opts.comment === "number" ? state.comments.find((c) => c.id === opts.comment) : opts.comment;
      if (comment === undefined) throw new Error(`no issue comment ${String(opts.comment)} in the stand-in`);
      const payload = example(definitions, "issue_comment", "created");
      const issueJson = { ...(payload.issue as Json), ...viewIssue(core, issue) };
      if (!issue.isPull) delete issueJson.pull_request;
      payload.issue = issueJson;
      payload.comment = { ...(payload.comment as Json), ...viewIssueComment(core, comment) };
      return withRepoContext(payload, repo, opts.sender ?? comment.user);
    },

    pullRequestReviewCommentCreated: (opts) => {
      const repo = repoOf(opts.repo);
      const pull =
        typeof opts.pull === "number"
          ? state.pulls.find((p) => p.repo === repo.fullName && p.number === opts.pull)
          : opts.pull;
      if (pull === undefined) throw new Error(`no pull request ${repo.fullName}#${String(opts.pull)}`);
      const comment =
        typeof opts.comment === "number"
          ? state.reviewComments.find((c) => c.id === opts.comment)
          : opts.comment;
      if (comment === undefined) throw new Error(`no review comment ${String(opts.comment)} in the stand-in`);
      const payload = example(definitions, "pull_request_review_comment", "created");
      const pullJson = viewPull(core, pull, false);
      payload.pull_request = { ...(payload.pull_request as Json), ...pullJson };
      payload.comment = { ...(payload.comment as Json), ...viewReviewComment(core, comment) };
      return withRepoContext(payload, repo, opts.sender ?? comment.user);
    },

    pullRequestReviewSubmitted: (opts) => {
      const repo = repoOf(opts.repo);
      const pull =
        typeof opts.pull === "number"
          ? state.pulls.find((p) => p.repo === repo.fullName && p.number === opts.pull)
          : opts.pull;
      if (pull === undefined) throw new Error(`no pull request ${repo.fullName}#${String(opts.pull)}`);
      const review =
        typeof opts.review === "number" ? state.reviews.find((r) => r.id === opts.review) : opts.review;
      if (review === undefined) throw new Error(`no review ${String(opts.review)} in the stand-in`);
      const payload = example(definitions, "pull_request_review", "submitted");
      payload.pull_request = { ...(payload.pull_request as Json), ...viewPull(core, pull, false) };
      // The webhook spells the state in lower case, and an empty body as null.
      payload.review = {
        ...(payload.review as Json),
        ...renderReview(core.urls, review, { user: core.ensureUser(review.user), repo }),
        state: review.state.toLowerCase(),
        body: review.body === "" ? null : review.body,
      };
      return withRepoContext(payload, repo, opts.sender ?? review.user);
    },

    installationCreated: (opts) => {
      const installation = installationOf(opts.installation);
      const payload = example(definitions, "installation", "created");
      const repos = [...state.repos.values()].filter((r) => r.installationId === installation.id);
      payload.installation = {
        ...(payload.installation as Json),
        ...renderInstallation(core.urls, installation, core.app, "selected"),
      };
      payload.repositories = repos.map(shortRepo);
      payload.sender = sender(opts.sender);
      payload.requester = null;
      return payload;
    },

    installationRepositoriesAdded: (opts) => {
      const installation = installationOf(opts.installation);
      const payload = example(definitions, "installation_repositories", "added");
      payload.installation = {
        ...(payload.installation as Json),
        ...renderInstallation(core.urls, installation, core.app, "selected"),
      };
      payload.repository_selection = "selected";
      payload.repositories_added = opts.repos.map((repo) => shortRepo(repoOf(repo)));
      payload.repositories_removed = [];
      payload.sender = sender(opts.sender);
      payload.requester = null;
      return payload;
    },

    workflowRunCompleted: (opts) => {
      const { run } = opts;
      const repo = repoOf(run.repo);
      const payload = example(definitions, "workflow_run", "completed");
      const workflowId = workflowIdOf(run.path);
      const runUrl = `${core.urls.api}/repos/${repo.fullName}/actions/runs/${run.id}`;
      const repoJson = { ...((payload.workflow_run as Json).repository as Json), ...shortRepo(repo) };
      payload.workflow = {
        ...(payload.workflow as Json),
        id: workflowId,
        node_id: renderNodeId("Workflow", workflowId),
        name: run.name,
        path: run.path,
        url: `${core.urls.api}/repos/${repo.fullName}/actions/workflows/${workflowId}`,
        html_url: `${core.urls.web}/${repo.fullName}/blob/${repo.defaultBranch}/${run.path}`,
      };
      payload.workflow_run = {
        ...(payload.workflow_run as Json),
        id: run.id,
        node_id: renderNodeId("WorkflowRun", run.id),
        name: run.name,
        display_title: run.displayTitle,
        path: run.path,
        event: "workflow_dispatch",
        status: run.status,
        conclusion: run.conclusion,
        head_branch: run.headBranch,
        head_sha: run.headSha,
        run_number: run.runNumber,
        run_attempt: 1,
        workflow_id: workflowId,
        pull_requests: [],
        created_at: run.createdAt,
        updated_at: run.updatedAt,
        run_started_at: run.createdAt,
        url: runUrl,
        html_url: `${core.urls.web}/${repo.fullName}/actions/runs/${run.id}`,
        repository: repoJson,
        head_repository: repoJson,
        actor: sender(run.actor),
        triggering_actor: sender(run.actor),
      };
      return withRepoContext(payload, repo, run.actor);
    },
  };
}

/** A stable id per workflow file, as GitHub keeps one per path. */
function workflowIdOf(path: string): number {
  let hash = 7;
  for (const ch of path) hash = (hash * 31 + ch.charCodeAt(0)) % 90_000_000;
  return 10_000_000 + hash;
}
