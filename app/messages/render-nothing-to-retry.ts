import { mentionUser } from "../../core/summary/mention-user.ts";

export function renderNothingToRetry(sender: string): string {
  return `${mentionUser(sender)} there is no earlier Airlock run here to retry; start one with \`/airlock run [instructions]\`.`;
}
