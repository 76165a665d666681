/**
 * GitHub's repository roles from least to most access, as the collaborator-permission
 * endpoint reports them in `role_name`. The order is what `min_permission` compares.
 */
export const permissionLevels = Object.freeze(["read", "triage", "write", "maintain", "admin"] as const);

export type PermissionLevel = (typeof permissionLevels)[number];
