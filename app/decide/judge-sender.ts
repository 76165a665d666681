import type { RepoRole } from "../../core/github/github-api.ts";
import { meetsPermission } from "../../core/repo-config/meets-permission.ts";
import type { PermissionLevel } from "../../core/repo-config/permission-levels.ts";

export type SenderVerdict = "allowed" | "bot" | "below";

/**
 * Whether a sender may start, stop or steer runs. Bots never may: another app's comment
 * (or Airlock's own) must not spend this installation's budget.
 */
export function judgeSender(
  sender: { type: string },
  role: RepoRole,
  required: PermissionLevel,
): SenderVerdict {
  if (sender.type === "Bot") return "bot";
  return meetsPermission(role, required) ? "allowed" : "below";
}
