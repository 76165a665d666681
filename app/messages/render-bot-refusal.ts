import { mentionUser } from "../../core/summary/mention-user.ts";

/** Bots (including Airlock itself) never start runs: a run spends the installation's budget. */
export function renderBotRefusal(sender: string): string {
  return `${mentionUser(sender)} Airlock runs are started by people only; a bot's request is not acted on.`;
}
