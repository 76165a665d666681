import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** An approval of a commit that is no longer the head: what it would grant may not be what was seen. */
export function renderStaleApproval(login: string, commitId: string, headSha: string): string {
  return (
    `${mentionUser(login)} your approval is of commit ${formatCode(commitId.slice(0, 12))}, but this pull request ` +
    `is now at ${formatCode(headSha.slice(0, 12))}, which may ask for other capabilities. Nothing was granted: ` +
    "look at the latest review and approve again."
  );
}
