import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** The usage reply to `/airlock help` or a bare `/airlock`. */
export function renderHelp(sender: string, agents: readonly string[]): string {
  return [
    `${mentionUser(sender)} Airlock hands an issue to an AI coding agent in a sealed sandbox and opens a draft pull request.`,
    "",
    "- label the issue `airlock:<agent>`, or comment `/airlock run [agent] [instructions]`",
    "- `/airlock stop` stops the issue's active run; `/airlock retry` runs its last task again",
    "- on an Airlock pull request, `/airlock <feedback>` (also in a review comment) starts a follow-up run on its branch",
    "",
    `Agents allowed here: ${agents.map(formatCode).join(", ") || "none"}.`,
  ].join("\n");
}
