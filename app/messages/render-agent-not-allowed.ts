import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** A label or command naming an agent `.github/airlock.yml` does not allow. */
export function renderAgentNotAllowed(sender: string, requested: string, allowed: readonly string[]): string {
  return (
    `${mentionUser(sender)} nothing was started: the agent ${formatCode(requested.slice(0, 64))} is not allowed here. ` +
    `Allowed: ${allowed.map(formatCode).join(", ") || "none"} (\`agents\` in \`.github/airlock.yml\`).`
  );
}
