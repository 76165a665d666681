import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "./mention-user.ts";

export interface RunQueuedFacts {
  runId: string;
  agent: string;
  model: string;
  budgetUsd: number;
  budgetTokens: number;
  sender: string;
  /** Set for a follow-up run: the run whose pull request it continues. */
  followUpOf?: string | undefined;
  /** Logins whose comments were left out of the task (below the permission, or over the size cap). */
  withheldAuthors?: readonly string[] | undefined;
  omittedAuthors?: readonly string[] | undefined;
}

/**
 * The tracking comment as first posted; the runner edits it in place as the run goes. The
 * marker is the runner's (`<!-- airlock:tracking:<run> -->`), so a re-publish finds it.
 */
export function renderRunQueued(f: RunQueuedFacts): string {
  const lines = [
    `<!-- airlock:tracking:${f.runId} -->`,
    `Airlock run ${formatCode(f.runId)} queued: agent ${formatCode(f.agent)}, model ${formatCode(f.model)}, ` +
      `budget $${f.budgetUsd.toFixed(2)} / ${f.budgetTokens.toLocaleString("en-US")} tokens. ` +
      `Requested by ${mentionUser(f.sender)}.`,
  ];
  if (f.followUpOf)
    lines.push("", `Follow-up of run ${formatCode(f.followUpOf)}, on this pull request's branch.`);
  if (f.withheldAuthors && f.withheldAuthors.length > 0) {
    lines.push(
      "",
      `Not given to the agent (below the required permission): text by ${f.withheldAuthors.map(formatCode).join(", ")}.`,
    );
  }
  if (f.omittedAuthors && f.omittedAuthors.length > 0) {
    lines.push(
      "",
      `Left out to fit the size cap: older comments by ${f.omittedAuthors.map(formatCode).join(", ")}.`,
    );
  }
  lines.push("", "Stop it with `/airlock stop`.");
  return lines.join("\n");
}
