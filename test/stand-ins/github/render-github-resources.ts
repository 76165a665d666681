import type {
  CheckRun,
  Installation,
  InstallationToken,
  Issue,
  IssueComment,
  Label,
  Pull,
  Reaction,
  Repo,
  Review,
  ReviewComment,
  User,
} from "./github-state.ts";

/**
 * JSON shapes as GitHub's REST API returns them (every field the OpenAPI description marks
 * required, so Octokit and Probot code reading them sees what it would see on GitHub).
 * The stand-in's own tests validate these against the description's response schemas.
 */
export type Urls = {
  /** REST root, no trailing slash. */
  api: string;
  /** Where `html_url`s point; nothing is served there. */
  web: string;
};

type Json = Record<string, unknown>;

export function renderNodeId(kind: string, id: number): string {
  return Buffer.from(`0${kind.length}:${kind}${id}`).toString("base64");
}

export function renderUser(urls: Urls, user: User): Json {
  const api = `${urls.api}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: renderNodeId(user.type, user.id),
    avatar_url: `${urls.web}/avatars/u/${user.id}`,
    gravatar_id: "",
    url: api,
    html_url: `${urls.web}/${user.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: user.type,
    user_view_type: "public",
    site_admin: false,
  };
}

export function renderRepo(urls: Urls, repo: Repo, openIssues: number): Json {
  const api = `${urls.api}/repos/${repo.fullName}`;
  return {
    id: repo.id,
    node_id: renderNodeId("Repository", repo.id),
    name: repo.name,
    full_name: repo.fullName,
    private: repo.private,
    owner: renderUser(urls, repo.owner),
    html_url: repo.htmlUrl,
    description: null,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: repo.cloneUrl.replace(/^http/, "git"),
    hooks_url: `${api}/hooks`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@127.0.0.1:${repo.fullName}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: repo.cloneUrl,
    mirror_url: null,
    svn_url: repo.htmlUrl,
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues_count: openIssues,
    open_issues: openIssues,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: true,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? "private" : "public",
    pushed_at: repo.createdAt,
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    license: null,
    allow_forking: true,
    web_commit_signoff_required: false,
  };
}

export function renderLabel(urls: Urls, label: Label): Json {
  return {
    id: label.id,
    node_id: renderNodeId("Label", label.id),
    url: `${urls.api}/repos/${label.repo}/labels/${encodeURIComponent(label.name)}`,
    name: label.name,
    description: label.description,
    color: label.color,
    default: false,
  };
}

export function renderIssue(
  urls: Urls,
  issue: Issue,
  deps: { user: User; labels: Label[]; comments: number; repo: Repo; reactions: Reaction[] },
): Json {
  const api = `${urls.api}/repos/${issue.repo}/issues/${issue.number}`;
  const out: Json = {
    id: issue.id,
    node_id: renderNodeId(issue.isPull ? "PullRequest" : "Issue", issue.id),
    url: api,
    repository_url: `${urls.api}/repos/${issue.repo}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `${deps.repo.htmlUrl}/${issue.isPull ? "pull" : "issues"}/${issue.number}`,
    number: issue.number,
    state: issue.state,
    state_reason: issue.stateReason,
    title: issue.title,
    body: issue.body,
    user: renderUser(urls, deps.user),
    labels: deps.labels.map((label) => renderLabel(urls, label)),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: deps.comments,
    closed_at: issue.closedAt,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    author_association: "NONE",
    reactions: renderReactionRollup(`${api}/reactions`, deps.reactions),
  };
  if (issue.isPull) {
    const pullApi = `${urls.api}/repos/${issue.repo}/pulls/${issue.number}`;
    const html = `${deps.repo.htmlUrl}/pull/${issue.number}`;
    out.pull_request = {
      url: pullApi,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      merged_at: null,
    };
    out.draft = false;
  }
  return out;
}

export function renderReactionRollup(url: string, reactions: Reaction[]): Json {
  const count = (content: string) => reactions.filter((r) => r.content === content).length;
  return {
    url,
    total_count: reactions.length,
    "+1": count("+1"),
    "-1": count("-1"),
    laugh: count("laugh"),
    confused: count("confused"),
    heart: count("heart"),
    hooray: count("hooray"),
    eyes: count("eyes"),
    rocket: count("rocket"),
  };
}

export function renderIssueComment(
  urls: Urls,
  comment: IssueComment,
  deps: { user: User; repo: Repo; isPull: boolean; reactions: Reaction[] },
): Json {
  const api = `${urls.api}/repos/${comment.repo}/issues/comments/${comment.id}`;
  return {
    id: comment.id,
    node_id: renderNodeId("IssueComment", comment.id),
    url: api,
    html_url: `${deps.repo.htmlUrl}/${deps.isPull ? "pull" : "issues"}/${comment.issueNumber}#issuecomment-${comment.id}`,
    issue_url: `${urls.api}/repos/${comment.repo}/issues/${comment.issueNumber}`,
    body: comment.body,
    user: renderUser(urls, deps.user),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: "NONE",
    performed_via_github_app: null,
    reactions: renderReactionRollup(`${api}/reactions`, deps.reactions),
  };
}

export function renderReaction(urls: Urls, reaction: Reaction, user: User): Json {
  return {
    id: reaction.id,
    node_id: renderNodeId("Reaction", reaction.id),
    user: renderUser(urls, user),
    content: reaction.content,
    created_at: reaction.createdAt,
  };
}

export function renderBranchRef(urls: Urls, repo: Repo, ref: string, sha: string, openIssues: number): Json {
  return {
    label: `${repo.owner.login}:${ref}`,
    ref,
    sha,
    user: renderUser(urls, repo.owner),
    repo: renderRepo(urls, repo, openIssues),
  };
}

export function renderPull(
  urls: Urls,
  pull: Pull,
  deps: {
    issue: Issue;
    user: User;
    repo: Repo;
    labels: Label[];
    openIssues: number;
    comments: number;
    reviewComments: number;
    full: boolean;
  },
): Json {
  const api = `${urls.api}/repos/${pull.repo}/pulls/${pull.number}`;
  const issueApi = `${urls.api}/repos/${pull.repo}/issues/${pull.number}`;
  const html = `${deps.repo.htmlUrl}/pull/${pull.number}`;
  const { issue } = deps;
  const out: Json = {
    url: api,
    id: pull.id,
    node_id: renderNodeId("PullRequest", pull.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issueApi,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${urls.api}/repos/${pull.repo}/pulls/comments{/number}`,
    comments_url: `${issueApi}/comments`,
    statuses_url: `${urls.api}/repos/${pull.repo}/statuses/${pull.headSha}`,
    number: pull.number,
    state: issue.state,
    locked: false,
    title: issue.title,
    user: renderUser(urls, deps.user),
    body: issue.body,
    labels: deps.labels.map((label) => renderLabel(urls, label)),
    milestone: null,
    active_lock_reason: null,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    merged_at: null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: renderBranchRef(urls, deps.repo, pull.head, pull.headSha, deps.openIssues),
    base: renderBranchRef(urls, deps.repo, pull.base, pull.baseSha, deps.openIssues),
    _links: {
      self: { href: api },
      html: { href: html },
      issue: { href: issueApi },
      comments: { href: `${issueApi}/comments` },
      review_comments: { href: `${api}/comments` },
      review_comment: { href: `${urls.api}/repos/${pull.repo}/pulls/comments{/number}` },
      commits: { href: `${api}/commits` },
      statuses: { href: `${urls.api}/repos/${pull.repo}/statuses/${pull.headSha}` },
    },
    author_association: "NONE",
    auto_merge: null,
    draft: pull.draft,
  };
  if (deps.full) {
    Object.assign(out, {
      merged: pull.merged,
      mergeable: null,
      rebaseable: null,
      mergeable_state: "unknown",
      merged_by: null,
      comments: deps.comments,
      review_comments: deps.reviewComments,
      maintainer_can_modify: pull.maintainerCanModify,
      commits: 1,
      additions: 0,
      deletions: 0,
      changed_files: 0,
    });
  }
  return out;
}

export function renderReview(urls: Urls, review: Review, deps: { user: User; repo: Repo }): Json {
  const html = `${deps.repo.htmlUrl}/pull/${review.pullNumber}#pullrequestreview-${review.id}`;
  const pullApi = `${urls.api}/repos/${review.repo}/pulls/${review.pullNumber}`;
  const out: Json = {
    id: review.id,
    node_id: renderNodeId("PullRequestReview", review.id),
    user: renderUser(urls, deps.user),
    body: review.body,
    state: review.state,
    html_url: html,
    pull_request_url: pullApi,
    _links: { html: { href: html }, pull_request: { href: pullApi } },
    commit_id: review.commitId,
    author_association: "NONE",
  };
  if (review.submittedAt !== null) out.submitted_at = review.submittedAt;
  return out;
}

export function renderReviewComment(
  urls: Urls,
  comment: ReviewComment,
  deps: { user: User; repo: Repo; reactions: Reaction[] },
): Json {
  const api = `${urls.api}/repos/${comment.repo}/pulls/comments/${comment.id}`;
  const pullApi = `${urls.api}/repos/${comment.repo}/pulls/${comment.pullNumber}`;
  const html = `${deps.repo.htmlUrl}/pull/${comment.pullNumber}#discussion_r${comment.id}`;
  const out: Json = {
    url: api,
    pull_request_review_id: comment.reviewId,
    id: comment.id,
    node_id: renderNodeId("PullRequestReviewComment", comment.id),
    diff_hunk: `@@ -1 +1 @@`,
    path: comment.path,
    position: comment.line,
    original_position: comment.line,
    commit_id: comment.commitId,
    original_commit_id: comment.commitId,
    user: renderUser(urls, deps.user),
    body: comment.body,
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    html_url: html,
    pull_request_url: pullApi,
    author_association: "NONE",
    _links: { self: { href: api }, html: { href: html }, pull_request: { href: pullApi } },
    start_line: null,
    original_start_line: null,
    start_side: null,
    line: comment.line,
    original_line: comment.line,
    side: comment.side,
    subject_type: "line",
    reactions: renderReactionRollup(`${api}/reactions`, deps.reactions),
  };
  if (comment.inReplyToId !== null) out.in_reply_to_id = comment.inReplyToId;
  return out;
}

export function renderApp(urls: Urls, app: { id: number; slug: string; owner: User }): Json {
  const now = new Date(0).toISOString();
  return {
    id: app.id,
    slug: app.slug,
    node_id: renderNodeId("Integration", app.id),
    client_id: `Iv1.${app.id.toString(16).padStart(16, "0")}`,
    owner: renderUser(urls, app.owner),
    name: app.slug,
    description: "Airlock test app",
    external_url: `${urls.web}/apps/${app.slug}`,
    html_url: `${urls.web}/apps/${app.slug}`,
    created_at: now,
    updated_at: now,
    permissions: {
      issues: "write",
      pull_requests: "write",
      contents: "write",
      checks: "write",
      metadata: "read",
    },
    events: ["issues", "issue_comment", "pull_request_review_comment"],
    installations_count: 1,
  };
}

export function renderInstallation(
  urls: Urls,
  installation: Installation,
  app: { id: number; slug: string },
  selection: "all" | "selected",
): Json {
  return {
    id: installation.id,
    account: renderUser(urls, installation.account),
    repository_selection: selection,
    access_tokens_url: `${urls.api}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: `${urls.web}/settings/installations/${installation.id}`,
    app_id: app.id,
    app_slug: app.slug,
    target_id: installation.account.id,
    target_type: installation.account.type === "Organization" ? "Organization" : "User",
    permissions: installation.permissions,
    events: ["issues", "issue_comment", "pull_request_review_comment"],
    created_at: installation.createdAt,
    updated_at: installation.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

export function renderToken(urls: Urls, token: InstallationToken, repos: Repo[] | undefined): Json {
  const out: Json = {
    token: token.token,
    expires_at: token.expiresAt.toISOString().replace(/\.\d+Z$/, "Z"),
    permissions: token.permissions,
    repository_selection: token.repositorySelection,
  };
  if (repos !== undefined) out.repositories = repos.map((repo) => renderRepo(urls, repo, 0));
  return out;
}

export function renderCheckRun(urls: Urls, run: CheckRun, app: Json, repo: Repo): Json {
  return {
    id: run.id,
    head_sha: run.headSha,
    node_id: renderNodeId("CheckRun", run.id),
    external_id: run.externalId,
    url: `${urls.api}/repos/${run.repo}/check-runs/${run.id}`,
    html_url: `${repo.htmlUrl}/runs/${run.id}`,
    details_url: run.detailsUrl,
    status: run.status,
    conclusion: run.conclusion,
    started_at: run.startedAt,
    completed_at: run.completedAt,
    output: {
      title: run.output.title,
      summary: run.output.summary,
      text: run.output.text,
      annotations_count: 0,
      annotations_url: `${urls.api}/repos/${run.repo}/check-runs/${run.id}/annotations`,
    },
    name: run.name,
    check_suite: { id: run.id },
    app,
    pull_requests: [],
  };
}
