import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";
import { renderWhoMayDecide } from "../../core/summary/render-who-may-decide.ts";
import type { DeciderVerdict, DecisionRules } from "../decide/judge-decider.ts";

/** Someone who may not decide a run's capability requests: why not, who may, and that nothing changed. */
export function renderDeciderRefusal(
  login: string,
  verdict: Exclude<DeciderVerdict, "allowed">,
  detail: { runId: string; role: string; rules: DecisionRules },
): string {
  const why = {
    bot: "a bot's approval is not acted on",
    below: `deciding needs ${formatCode(detail.rules.approvePermission)} permission on this repository, and yours is ${formatCode(detail.role)}`,
    requester:
      "you started this run, and this repository wants someone else to approve what its agent asks for (`require_distinct_approver: true`)",
  }[verdict];
  return (
    `${mentionUser(login)} your decision on the capability requests of Airlock run ${formatCode(detail.runId)} ` +
    `was not recorded: ${why}. Nothing was changed. ${renderWhoMayDecide(detail.rules)}`
  );
}
