/**
 * The REST operations the stand-in implements, by GitHub's operationId, each with the
 * installation permission GitHub requires for it. A request to any other route GitHub
 * documents is answered 404 and recorded as "unimplemented", so a test cannot pass by
 * calling something the stand-in would silently fake.
 *
 * `auth: "jwt"` routes accept only the app's JWT; `"token"` routes only an installation
 * token. `permission` is checked against the token's permissions ("write" satisfies
 * "read"); for issue routes GitHub also accepts `pull_requests` when the issue is a PR,
 * which the handlers check themselves (`alsoPulls`).
 */
export type OperationRule = {
  auth: "jwt" | "token";
  permission?: { name: string; level: "read" | "write"; alsoPulls?: boolean };
};

export const implementedOperations: Record<string, OperationRule> = {
  "apps/get-authenticated": { auth: "jwt" },
  "apps/list-installations": { auth: "jwt" },
  "apps/get-installation": { auth: "jwt" },
  "apps/get-repo-installation": { auth: "jwt" },
  "apps/create-installation-access-token": { auth: "jwt" },
  "apps/list-repos-accessible-to-installation": { auth: "token" },
  "repos/get": { auth: "token", permission: { name: "metadata", level: "read" } },
  "repos/get-branch": { auth: "token", permission: { name: "contents", level: "read" } },
  "repos/get-content": { auth: "token", permission: { name: "contents", level: "read" } },
  "repos/get-collaborator-permission-level": {
    auth: "token",
    permission: { name: "metadata", level: "read" },
  },
  "issues/get": { auth: "token", permission: { name: "issues", level: "read", alsoPulls: true } },
  "issues/update": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "issues/list-comments": { auth: "token", permission: { name: "issues", level: "read", alsoPulls: true } },
  "issues/create-comment": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "issues/get-comment": { auth: "token", permission: { name: "issues", level: "read", alsoPulls: true } },
  "issues/update-comment": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "issues/delete-comment": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "reactions/create-for-issue": {
    auth: "token",
    permission: { name: "issues", level: "write", alsoPulls: true },
  },
  "reactions/create-for-issue-comment": {
    auth: "token",
    permission: { name: "issues", level: "write", alsoPulls: true },
  },
  "reactions/create-for-pull-request-review-comment": {
    auth: "token",
    permission: { name: "pull_requests", level: "write" },
  },
  "issues/list-labels-for-repo": {
    auth: "token",
    permission: { name: "issues", level: "read", alsoPulls: true },
  },
  "issues/create-label": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "issues/add-labels": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "issues/remove-label": { auth: "token", permission: { name: "issues", level: "write", alsoPulls: true } },
  "actions/create-workflow-dispatch": { auth: "token", permission: { name: "actions", level: "write" } },
  "checks/list-for-ref": { auth: "token", permission: { name: "checks", level: "read" } },
  "checks/create": { auth: "token", permission: { name: "checks", level: "write" } },
  "checks/update": { auth: "token", permission: { name: "checks", level: "write" } },
  "pulls/list": { auth: "token", permission: { name: "pull_requests", level: "read" } },
  "pulls/create": { auth: "token", permission: { name: "pull_requests", level: "write" } },
  "pulls/get": { auth: "token", permission: { name: "pull_requests", level: "read" } },
  "pulls/update": { auth: "token", permission: { name: "pull_requests", level: "write" } },
  "pulls/list-reviews": { auth: "token", permission: { name: "pull_requests", level: "read" } },
  "pulls/create-review": { auth: "token", permission: { name: "pull_requests", level: "write" } },
  "pulls/list-review-comments": { auth: "token", permission: { name: "pull_requests", level: "read" } },
  "pulls/get-review-comment": { auth: "token", permission: { name: "pull_requests", level: "read" } },
  "pulls/create-reply-for-review-comment": {
    auth: "token",
    permission: { name: "pull_requests", level: "write" },
  },
};
