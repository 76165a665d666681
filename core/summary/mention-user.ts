import { escapeMarkdown } from "./escape-markdown.ts";

/** `@login` for a GitHub login; anything else (a payload we did not expect) shown as escaped text. */
export function mentionUser(login: string): string {
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(login) ? `@${login}` : escapeMarkdown(login);
}
