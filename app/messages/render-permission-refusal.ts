import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** A sender below `min_permission`: polite, names the level, repeats nothing they wrote. */
export function renderPermissionRefusal(sender: string, required: string): string {
  return (
    `${mentionUser(sender)} thanks for the interest — starting or steering Airlock runs here needs ` +
    `${formatCode(required)} permission on this repository, so nothing was started. ` +
    "A maintainer can start a run on this issue."
  );
}
