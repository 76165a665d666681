import { mentionUser } from "../../core/summary/mention-user.ts";

export function renderNothingToStop(sender: string): string {
  return `${mentionUser(sender)} there is no active Airlock run here to stop.`;
}
