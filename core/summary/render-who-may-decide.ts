import type { PermissionLevel } from "../repo-config/permission-levels.ts";
import { formatCode } from "./escape-markdown.ts";

/**
 * Who may decide a run's capability requests (issue 10 §4), as one sentence: the review
 * asks with it, and a refusal says it. The requester is named as code, never as a mention,
 * so the sentence notifies no one.
 */
export function renderWhoMayDecide(rules: {
  approvePermission: PermissionLevel;
  requireDistinctApprover: boolean;
  requestedBy: string | null;
}): string {
  const others =
    rules.requireDistinctApprover && rules.requestedBy !== null
      ? `, other than ${formatCode(rules.requestedBy)} who started the run`
      : "";
  return `Who may decide: anyone with ${formatCode(rules.approvePermission)} permission or above on this repository${others}; bots never.`;
}
