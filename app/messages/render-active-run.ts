import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** One run at a time per issue (or pull request): say which one is going and how to stop it. */
export function renderActiveRun(sender: string, runId: string, state: string): string {
  return (
    `${mentionUser(sender)} run ${formatCode(runId)} is still ${formatCode(state)} here, so no new run was started. ` +
    "Stop it with `/airlock stop` first if you want to start over."
  );
}
