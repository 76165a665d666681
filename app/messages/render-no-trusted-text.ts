import { mentionUser } from "../../core/summary/mention-user.ts";

/**
 * The issue was written by someone below `min_permission` and no trusted comment says what
 * to do: their text never reaches the agent (prompt injection), so the maintainer must.
 */
export function renderNoTrustedText(sender: string, required: string): string {
  return [
    `${mentionUser(sender)} nothing was started: this issue and its comments are by people below \`${required}\` permission, ` +
      "and their text is not given to the agent.",
    "",
    "Describe the task in your own words with a comment: `/airlock run <instructions>`.",
  ].join("\n");
}
