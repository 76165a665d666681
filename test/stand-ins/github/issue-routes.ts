import type { Issue, Label, ReactionSubject, Repo } from "./github-state.ts";
import { renderLabel, renderReaction } from "./render-github-resources.ts";
import {
  githubError,
  notFound,
  paginate,
  type RouteCall,
  type RouteHandler,
  type RouteResult,
  type StandInCore,
} from "./stand-in-core.ts";
import { viewIssue, viewIssueComment } from "./stand-in-views.ts";

/** Issues, issue comments, labels and reactions. A PR is an issue here too, as on GitHub. */
function findIssue(call: RouteCall): Issue | undefined {
  const repo = call.repo;
  const number = Number(call.params.issue_number);
  return call.core.state.issues.find((issue) => issue.repo === repo?.fullName && issue.number === number);
}

function findComment(call: RouteCall) {
  const id = Number(call.params.comment_id);
  return call.core.state.comments.find(
    (comment) => comment.repo === call.repo?.fullName && comment.id === id,
  );
}

/** GitHub creates a label that does not exist yet when it is added to an issue. */
export function ensureLabel(core: StandInCore, repo: Repo, name: string): Label {
  const existing = core.state.labels.find(
    (label) => label.repo === repo.fullName && label.name.toLowerCase() === name.toLowerCase(),
  );
  if (existing !== undefined) return existing;
  const label: Label = { id: core.nextId(), repo: repo.fullName, name, color: "ededed", description: null };
  core.state.labels.push(label);
  return label;
}

function labelNames(raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : (raw as { labels?: unknown[] } | undefined)?.labels;
  return (list ?? []).map((entry) =>
    typeof entry === "string" ? entry : String((entry as { name?: unknown }).name ?? ""),
  );
}

function react(call: RouteCall, subject: ReactionSubject): RouteResult {
  const repo = call.repo as Repo;
  const content = String(call.body.content);
  const existing = call.core.state.reactions.find(
    (r) =>
      r.repo === repo.fullName &&
      r.content === content &&
      r.user === call.actor.login &&
      JSON.stringify(r.subject) === JSON.stringify(subject),
  );
  if (existing !== undefined) {
    return { status: 200, body: renderReaction(call.core.urls, existing, call.actor) };
  }
  const reaction = {
    id: call.core.nextId(),
    repo: repo.fullName,
    subject,
    content,
    user: call.actor.login,
    createdAt: call.core.nowIso(),
  };
  call.core.state.reactions.push(reaction);
  return { status: 201, body: renderReaction(call.core.urls, reaction, call.actor) };
}

export const issueRoutes: Record<string, RouteHandler> = {
  "issues/get": (call) => {
    const issue = findIssue(call);
    return issue === undefined ? notFound() : { status: 200, body: viewIssue(call.core, issue) };
  },

  "issues/update": (call) => {
    const issue = findIssue(call);
    if (issue === undefined) return notFound();
    const { body } = call;
    if (typeof body.title === "string" || typeof body.title === "number") issue.title = String(body.title);
    if (body.body !== undefined) issue.body = body.body as string | null;
    if (body.state === "open" || body.state === "closed") {
      issue.closedAt = body.state === "closed" ? call.core.nowIso() : null;
      issue.state = body.state;
      issue.stateReason =
        (body.state_reason as string | undefined) ?? (body.state === "closed" ? "completed" : null);
    }
    if (body.labels !== undefined) {
      issue.labels = labelNames(body.labels).map(
        (name) => ensureLabel(call.core, call.repo as Repo, name).name,
      );
    }
    issue.updatedAt = call.core.nowIso();
    return { status: 200, body: viewIssue(call.core, issue) };
  },

  "issues/list-comments": (call) => {
    const issue = findIssue(call);
    if (issue === undefined) return notFound();
    const since = typeof call.query.since === "string" ? call.query.since : undefined;
    const comments = call.core.state.comments
      .filter((c) => c.repo === issue.repo && c.issueNumber === issue.number)
      .filter((c) => since === undefined || c.updatedAt >= since)
      .map((c) => viewIssueComment(call.core, c));
    return paginate(call, comments, `/repos/${issue.repo}/issues/${issue.number}/comments`);
  },

  "issues/create-comment": (call) => {
    const issue = findIssue(call);
    if (issue === undefined) return notFound();
    const now = call.core.nowIso();
    const comment = {
      id: call.core.nextId(),
      repo: issue.repo,
      issueNumber: issue.number,
      body: String(call.body.body),
      user: call.actor.login,
      createdAt: now,
      updatedAt: now,
    };
    call.core.state.comments.push(comment);
    return { status: 201, body: viewIssueComment(call.core, comment) };
  },

  "issues/get-comment": (call) => {
    const comment = findComment(call);
    return comment === undefined ? notFound() : { status: 200, body: viewIssueComment(call.core, comment) };
  },

  "issues/update-comment": (call) => {
    const comment = findComment(call);
    if (comment === undefined) return notFound();
    comment.body = String(call.body.body);
    comment.updatedAt = call.core.nowIso();
    return { status: 200, body: viewIssueComment(call.core, comment) };
  },

  "issues/delete-comment": (call) => {
    const comment = findComment(call);
    if (comment === undefined) return notFound();
    const { comments } = call.core.state;
    comments.splice(comments.indexOf(comment), 1);
    return { status: 204 };
  },

  "reactions/create-for-issue": (call) => {
    const issue = findIssue(call);
    return issue === undefined ? notFound() : react(call, { kind: "issue", issueNumber: issue.number });
  },

  "reactions/create-for-issue-comment": (call) => {
    const comment = findComment(call);
    return comment === undefined ? notFound() : react(call, { kind: "issue_comment", commentId: comment.id });
  },

  "reactions/create-for-pull-request-review-comment": (call) => {
    const id = Number(call.params.comment_id);
    const comment = call.core.state.reviewComments.find((c) => c.repo === call.repo?.fullName && c.id === id);
    return comment === undefined
      ? notFound()
      : react(call, { kind: "review_comment", commentId: comment.id });
  },

  "issues/list-labels-for-repo": (call) => {
    const repo = call.repo as Repo;
    const labels = call.core.state.labels
      .filter((label) => label.repo === repo.fullName)
      .map((label) => renderLabel(call.core.urls, label));
    return paginate(call, labels, `/repos/${repo.fullName}/labels`);
  },

  "issues/create-label": (call) => {
    const repo = call.repo as Repo;
    const name = String(call.body.name);
    const duplicate = call.core.state.labels.some(
      (label) => label.repo === repo.fullName && label.name.toLowerCase() === name.toLowerCase(),
    );
    if (duplicate) {
      return githubError(422, "Validation Failed", {
        errors: [{ resource: "Label", code: "already_exists", field: "name" }],
        documentationUrl: "https://docs.github.com/rest/issues/labels#create-a-label",
      });
    }
    const color = typeof call.body.color === "string" ? call.body.color.replace(/^#/, "") : "ededed";
    if (!/^[0-9a-fA-F]{6}$/.test(color)) {
      return githubError(422, "Validation Failed", {
        errors: [{ resource: "Label", code: "invalid", field: "color" }],
        documentationUrl: "https://docs.github.com/rest/issues/labels#create-a-label",
      });
    }
    const label: Label = {
      id: call.core.nextId(),
      repo: repo.fullName,
      name,
      color,
      description: typeof call.body.description === "string" ? call.body.description : null,
    };
    call.core.state.labels.push(label);
    return { status: 201, body: renderLabel(call.core.urls, label) };
  },

  "issues/add-labels": (call) => {
    const issue = findIssue(call);
    if (issue === undefined) return notFound();
    for (const name of labelNames(call.body)) {
      const label = ensureLabel(call.core, call.repo as Repo, name);
      if (!issue.labels.some((existing) => existing.toLowerCase() === label.name.toLowerCase())) {
        issue.labels.push(label.name);
      }
    }
    issue.updatedAt = call.core.nowIso();
    return {
      status: 200,
      body: call.core.labelsOf(issue).map((label) => renderLabel(call.core.urls, label)),
    };
  },

  "issues/remove-label": (call) => {
    const issue = findIssue(call);
    if (issue === undefined) return notFound();
    const name = (call.params.name ?? "").toLowerCase();
    const index = issue.labels.findIndex((label) => label.toLowerCase() === name);
    if (index < 0) {
      return githubError(404, "Label does not exist", {
        documentationUrl: "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue",
      });
    }
    issue.labels.splice(index, 1);
    issue.updatedAt = call.core.nowIso();
    return {
      status: 200,
      body: call.core.labelsOf(issue).map((label) => renderLabel(call.core.urls, label)),
    };
  },
};
