import type { RepoRole } from "../../core/github/github-api.ts";
import { meetsPermission } from "../../core/repo-config/meets-permission.ts";
import type { PermissionLevel } from "../../core/repo-config/permission-levels.ts";

export type DeciderVerdict = "allowed" | "bot" | "below" | "requester";

export interface DecisionRules {
  approvePermission: PermissionLevel;
  requireDistinctApprover: boolean;
  /** Who started the run (runs.requested_by). */
  requestedBy: string | null;
}

/**
 * Whether someone may decide a run's capability requests (issue 10 §4): a person (never a
 * bot: another app's approval must not install packages into an agent's image), with at
 * least `approve_permission`, and, with `require_distinct_approver`, not the person who
 * started the run (so one account cannot both ask an agent to do something and let it).
 */
export function judgeDecider(
  decider: { login: string; type: string },
  role: RepoRole,
  rules: DecisionRules,
): DeciderVerdict {
  if (decider.type === "Bot") return "bot";
  if (!meetsPermission(role, rules.approvePermission)) return "below";
  if (
    rules.requireDistinctApprover &&
    rules.requestedBy !== null &&
    rules.requestedBy.toLowerCase() === decider.login.toLowerCase()
  ) {
    return "requester";
  }
  return "allowed";
}
