import { branchExists, readDiffLines, resolveCommit } from "./bare-git-repo.ts";
import { addPullRecord } from "./add-pull-record.ts";
import {
  type CheckRun,
  type Issue,
  type Pull,
  type Repo,
  type Review,
  type ReviewComment,
} from "./github-state.ts";
import { checkRunApp, githubActionsApp } from "./actions-routes.ts";
import { renderApp, renderCheckRun, renderReview } from "./render-github-resources.ts";
import { githubError, notFound, paginate, type RouteCall, type RouteHandler } from "./stand-in-core.ts";
import { viewPull, viewReviewComment } from "./stand-in-views.ts";

/** Pull requests, reviews, review comments and check runs. */
const pullsDocs = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request";

function findPull(call: RouteCall): Pull | undefined {
  const number = Number(call.params.pull_number);
  return call.core.state.pulls.find((pull) => pull.repo === call.repo?.fullName && pull.number === number);
}

function issueOf(call: RouteCall, pull: Pull): Issue {
  const issue = call.core.state.issues.find((i) => i.repo === pull.repo && i.number === pull.number);
  if (issue === undefined) throw new Error(`pull ${pull.repo}#${pull.number} has no issue half`);
  return issue;
}

/** Branch heads move with pushes; a PR's head sha is re-read from the bare repo on every read. */
async function refreshShas(repo: Repo, pull: Pull): Promise<void> {
  pull.headSha = (await resolveCommit(repo.gitDir, `refs/heads/${pull.head}`)) ?? pull.headSha;
  pull.baseSha = (await resolveCommit(repo.gitDir, `refs/heads/${pull.base}`)) ?? pull.baseSha;
}

function headBranch(repo: Repo, head: string): string | undefined {
  const colon = head.indexOf(":");
  if (colon < 0) return head;
  // Cross-repository (fork) heads are not modelled: only this repository's owner is accepted.
  return head.slice(0, colon).toLowerCase() === repo.owner.login.toLowerCase()
    ? head.slice(colon + 1)
    : undefined;
}

/**
 * What GitHub says about each review comment it cannot place: its path must be a file the
 * pull request changes, and its `line` (new side) one the diff shows, at the review's commit.
 * Comments by diff `position` (the legacy form) are not checked.
 */
async function findUnresolvedComments(
  repo: Repo,
  pull: Pull,
  commitId: string,
  comments: Record<string, unknown>[],
): Promise<string[] | "unknown commit"> {
  if (comments.length === 0) return [];
  const diff = await readDiffLines(repo.gitDir, pull.baseSha, commitId);
  if (diff === undefined) return "unknown commit";
  const problems: string[] = [];
  for (const comment of comments) {
    const ranges = diff.get(String(comment.path));
    if (ranges === undefined) {
      problems.push("Path could not be resolved");
      continue;
    }
    if (typeof comment.line !== "number" || comment.side === "LEFT") continue;
    const line = comment.line;
    if (!ranges.some(([from, to]) => line >= from && line <= to)) problems.push("Line could not be resolved");
  }
  return problems;
}

export const pullRoutes: Record<string, RouteHandler> = {
  "pulls/list": async (call) => {
    const repo = call.repo as Repo;
    const state = typeof call.query.state === "string" ? call.query.state : "open";
    const head = typeof call.query.head === "string" ? call.query.head : undefined;
    const base = typeof call.query.base === "string" ? call.query.base : undefined;
    const out = [];
    for (const pull of call.core.state.pulls.filter((p) => p.repo === repo.fullName)) {
      const issue = issueOf(call, pull);
      if (state !== "all" && issue.state !== state) continue;
      // GitHub ignores a `head` filter without the `owner:` prefix, returning every PR.
      if (
        head !== undefined &&
        head.includes(":") &&
        `${repo.owner.login}:${pull.head}`.toLowerCase() !== head.toLowerCase()
      ) {
        continue;
      }
      if (base !== undefined && pull.base !== base) continue;
      await refreshShas(repo, pull);
      out.push(viewPull(call.core, pull, false));
    }
    return paginate(call, out, `/repos/${repo.fullName}/pulls`);
  },

  "pulls/create": async (call) => {
    const repo = call.repo as Repo;
    const { body } = call;
    const head = headBranch(repo, String(body.head ?? ""));
    const base = String(body.base ?? "");
    if (typeof body.title !== "string" || body.title === "") {
      return githubError(422, "Validation Failed", {
        errors: [{ resource: "PullRequest", code: "missing_field", field: "title" }],
        documentationUrl: pullsDocs,
      });
    }
    if (head === undefined || !(await branchExists(repo.gitDir, head))) {
      return githubError(422, "Validation Failed", {
        errors: [{ resource: "PullRequest", field: "head", code: "invalid" }],
        documentationUrl: pullsDocs,
      });
    }
    if (!(await branchExists(repo.gitDir, base))) {
      return githubError(422, "Validation Failed", {
        errors: [{ resource: "PullRequest", field: "base", code: "invalid" }],
        documentationUrl: pullsDocs,
      });
    }
    const open = call.core.state.pulls.find(
      (p) =>
        p.repo === repo.fullName && p.head === head && p.base === base && issueOf(call, p).state === "open",
    );
    if (open !== undefined) {
      return githubError(422, "Validation Failed", {
        errors: [
          {
            resource: "PullRequest",
            code: "custom",
            message: `A pull request already exists for ${repo.owner.login}:${head}.`,
          },
        ],
        documentationUrl: pullsDocs,
      });
    }
    if (body.draft === true && !repo.draftPullRequests) {
      return githubError(422, "Validation Failed", {
        errors: [
          {
            resource: "PullRequest",
            code: "custom",
            message: "Draft pull requests are not supported in this repository.",
          },
        ],
        documentationUrl: pullsDocs,
      });
    }
    const headSha = (await resolveCommit(repo.gitDir, `refs/heads/${head}`)) as string;
    const baseSha = (await resolveCommit(repo.gitDir, `refs/heads/${base}`)) as string;
    if (headSha === baseSha) {
      return githubError(422, "Validation Failed", {
        errors: [
          { resource: "PullRequest", code: "custom", message: `No commits between ${base} and ${head}` },
        ],
        documentationUrl: pullsDocs,
      });
    }
    const pull = addPullRecord(call.core, repo, {
      title: body.title,
      body: typeof body.body === "string" ? body.body : null,
      user: call.actor.login,
      head,
      base,
      headSha,
      baseSha,
      draft: body.draft === true,
      maintainerCanModify: body.maintainer_can_modify !== false,
    });
    return { status: 201, body: viewPull(call.core, pull, true) };
  },

  "pulls/get": async (call) => {
    const pull = findPull(call);
    if (pull === undefined) return notFound();
    await refreshShas(call.repo as Repo, pull);
    return { status: 200, body: viewPull(call.core, pull, true) };
  },

  "pulls/update": async (call) => {
    const pull = findPull(call);
    if (pull === undefined) return notFound();
    const issue = issueOf(call, pull);
    const { body } = call;
    if (typeof body.title === "string") issue.title = body.title;
    if (typeof body.body === "string") issue.body = body.body;
    if (body.state === "open" || body.state === "closed") {
      issue.state = body.state;
      issue.closedAt = body.state === "closed" ? call.core.nowIso() : null;
    }
    if (typeof body.base === "string") {
      if (!(await branchExists((call.repo as Repo).gitDir, body.base))) {
        return githubError(422, "Validation Failed", {
          errors: [{ resource: "PullRequest", field: "base", code: "invalid" }],
          documentationUrl: "https://docs.github.com/rest/pulls/pulls#update-a-pull-request",
        });
      }
      pull.base = body.base;
    }
    if (typeof body.maintainer_can_modify === "boolean")
      pull.maintainerCanModify = body.maintainer_can_modify;
    issue.updatedAt = call.core.nowIso();
    await refreshShas(call.repo as Repo, pull);
    return { status: 200, body: viewPull(call.core, pull, true) };
  },

  "pulls/list-reviews": (call) => {
    const pull = findPull(call);
    if (pull === undefined) return notFound();
    const reviews = call.core.state.reviews
      .filter((r) => r.repo === pull.repo && r.pullNumber === pull.number)
      .map((r) =>
        renderReview(call.core.urls, r, { user: call.core.ensureUser(r.user), repo: call.repo as Repo }),
      );
    return paginate(call, reviews, `/repos/${pull.repo}/pulls/${pull.number}/reviews`);
  },

  "pulls/create-review": async (call) => {
    const pull = findPull(call);
    if (pull === undefined) return notFound();
    const repo = call.repo as Repo;
    await refreshShas(repo, pull);
    const { body } = call;
    const event = typeof body.event === "string" ? body.event : undefined;
    const reviewDocs = "https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request";
    if (
      (event === "APPROVE" || event === "REQUEST_CHANGES") &&
      issueOf(call, pull).user === call.actor.login
    ) {
      const verb = event === "APPROVE" ? "approve" : "request changes on";
      return githubError(422, "Unprocessable Entity", {
        errors: [`Review Can not ${verb} your own pull request`],
        documentationUrl: reviewDocs,
      });
    }
    if (
      (event === "REQUEST_CHANGES" || event === "COMMENT") &&
      (typeof body.body !== "string" || body.body === "")
    ) {
      return githubError(422, "Unprocessable Entity", {
        errors: [`Review body is required when using ${event}`],
        documentationUrl: reviewDocs,
      });
    }
    const commitId = typeof body.commit_id === "string" ? body.commit_id : pull.headSha;
    const comments = (body.comments as Record<string, unknown>[] | undefined) ?? [];
    const unresolved = await findUnresolvedComments(repo, pull, commitId, comments);
    if (unresolved === "unknown commit") {
      // Not a wording seen from GitHub: the stand-in's own, so a test sees why.
      return githubError(422, "Unprocessable Entity", {
        errors: [`commit_id ${commitId} is not a commit of this repository`],
        documentationUrl: reviewDocs,
      });
    }
    if (unresolved.length > 0) {
      // GitHub refuses the whole review, naming each failure in one sentence ("Line could
      // not be resolved, Path could not be resolved, and Line could not be resolved").
      return githubError(422, "Unprocessable Entity", {
        errors: [new Intl.ListFormat("en", { type: "conjunction" }).format(unresolved)],
        documentationUrl: reviewDocs,
      });
    }
    const states = {
      APPROVE: "APPROVED",
      REQUEST_CHANGES: "CHANGES_REQUESTED",
      COMMENT: "COMMENTED",
    } as const;
    const now = call.core.nowIso();
    const review: Review = {
      id: call.core.nextId(),
      repo: repo.fullName,
      pullNumber: pull.number,
      user: call.actor.login,
      body: typeof body.body === "string" ? body.body : "",
      state: event === undefined ? "PENDING" : states[event as keyof typeof states],
      commitId,
      submittedAt: event === undefined ? null : now,
    };
    call.core.state.reviews.push(review);
    for (const raw of comments) {
      const line =
        typeof raw.line === "number" ? raw.line : typeof raw.position === "number" ? raw.position : null;
      call.core.state.reviewComments.push({
        id: call.core.nextId(),
        repo: repo.fullName,
        pullNumber: pull.number,
        reviewId: review.id,
        body: String(raw.body),
        user: call.actor.login,
        path: String(raw.path),
        line,
        side: raw.side === "LEFT" ? "LEFT" : "RIGHT",
        commitId: review.commitId,
        inReplyToId: null,
        createdAt: now,
        updatedAt: now,
      });
    }
    return { status: 200, body: renderReview(call.core.urls, review, { user: call.actor, repo }) };
  },

  "pulls/list-review-comments": (call) => {
    const pull = findPull(call);
    if (pull === undefined) return notFound();
    const comments = call.core.state.reviewComments
      .filter((c) => c.repo === pull.repo && c.pullNumber === pull.number)
      .map((c) => viewReviewComment(call.core, c));
    return paginate(call, comments, `/repos/${pull.repo}/pulls/${pull.number}/comments`);
  },

  "pulls/get-review-comment": (call) => {
    const id = Number(call.params.comment_id);
    const comment = call.core.state.reviewComments.find((c) => c.repo === call.repo?.fullName && c.id === id);
    return comment === undefined ? notFound() : { status: 200, body: viewReviewComment(call.core, comment) };
  },

  "pulls/create-reply-for-review-comment": (call) => {
    const pull = findPull(call);
    const id = Number(call.params.comment_id);
    const parent = call.core.state.reviewComments.find(
      (c) => c.repo === call.repo?.fullName && c.id === id && c.pullNumber === pull?.number,
    );
    if (pull === undefined || parent === undefined) return notFound();
    const now = call.core.nowIso();
    const reply: ReviewComment = {
      ...parent,
      id: call.core.nextId(),
      reviewId: call.core.nextId(),
      body: String(call.body.body),
      user: call.actor.login,
      inReplyToId: parent.inReplyToId ?? parent.id,
      createdAt: now,
      updatedAt: now,
    };
    call.core.state.reviewComments.push(reply);
    return { status: 201, body: viewReviewComment(call.core, reply) };
  },

  "checks/create": async (call) => {
    const repo = call.repo as Repo;
    const { body } = call;
    const headSha = String(body.head_sha);
    const checksDocs = "https://docs.github.com/rest/checks/runs#create-a-check-run";
    if (!/^[0-9a-f]{40}$/.test(headSha) || (await resolveCommit(repo.gitDir, headSha)) === undefined) {
      return githubError(422, `No commit found for SHA: ${headSha}`, { documentationUrl: checksDocs });
    }
    if (body.status === "completed" && body.conclusion === undefined) {
      return githubError(422, 'Invalid request.\n\n"conclusion" wasn\'t supplied.', {
        documentationUrl: checksDocs,
      });
    }
    const output = (body.output as Record<string, string | undefined> | undefined) ?? {};
    const conclusion = (body.conclusion as string | undefined) ?? null;
    const run: CheckRun = {
      id: call.core.nextId(),
      repo: repo.fullName,
      name: String(body.name),
      headSha,
      status: conclusion !== null ? "completed" : ((body.status as string | undefined) ?? "queued"),
      conclusion,
      detailsUrl: (body.details_url as string | undefined) ?? null,
      externalId: (body.external_id as string | undefined) ?? null,
      startedAt: (body.started_at as string | undefined) ?? call.core.nowIso(),
      completedAt:
        (body.completed_at as string | undefined) ?? (conclusion !== null ? call.core.nowIso() : null),
      output: { title: output.title ?? null, summary: output.summary ?? null, text: output.text ?? null },
      updates: [structuredClone(body)],
      ...(call.token?.workflowRunId !== undefined ? { appSlug: githubActionsApp.slug } : {}),
    };
    call.core.state.checkRuns.push(run);
    return {
      status: 201,
      body: renderCheckRun(call.core.urls, run, renderApp(call.core.urls, checkRunApp(call.core, run)), repo),
    };
  },

  "checks/update": (call) => {
    const repo = call.repo as Repo;
    const id = Number(call.params.check_run_id);
    const run = call.core.state.checkRuns.find((r) => r.repo === repo.fullName && r.id === id);
    if (run === undefined) return notFound();
    const { body } = call;
    if (body.status === "completed" && body.conclusion === undefined && run.conclusion === null) {
      return githubError(422, 'Invalid request.\n\n"conclusion" wasn\'t supplied.', {
        documentationUrl: "https://docs.github.com/rest/checks/runs#update-a-check-run",
      });
    }
    if (typeof body.name === "string") run.name = body.name;
    if (typeof body.details_url === "string") run.detailsUrl = body.details_url;
    if (typeof body.external_id === "string") run.externalId = body.external_id;
    if (typeof body.started_at === "string") run.startedAt = body.started_at;
    if (typeof body.status === "string") run.status = body.status;
    if (typeof body.conclusion === "string") {
      run.conclusion = body.conclusion;
      run.status = "completed";
      run.completedAt = (body.completed_at as string | undefined) ?? call.core.nowIso();
    }
    const output = body.output as Record<string, string | undefined> | undefined;
    if (output !== undefined) {
      run.output = {
        title: output.title ?? run.output.title,
        summary: output.summary ?? run.output.summary,
        text: output.text ?? run.output.text,
      };
    }
    run.updates.push(structuredClone(body));
    return {
      status: 200,
      body: renderCheckRun(call.core.urls, run, renderApp(call.core.urls, call.core.app), repo),
    };
  },
};
