import { formatCapability } from "../../core/capabilities/format-capability.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import type { ResumeAnswer } from "../../core/db/runs.ts";
import { escapeMarkdown, formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";
import { renderResumeNote } from "./render-capabilities-granted.ts";

/**
 * The reply in a request's thread once it is decided: by whom, the reason a denial gives
 * the agent, what happens next. `changed` false: it had been decided before (a redelivery,
 * or a second answer), and says how.
 */
export function renderCapabilityDecided(
  login: string,
  request: CapabilityRequest,
  changed: boolean,
  resume: ResumeAnswer,
): string {
  const spec = formatCode(
    formatCapability({ kind: request.kind, name: request.name, version: request.version ?? undefined }),
  );
  if (!changed) {
    const by = request.decidedBy === null ? "" : ` by ${formatCode(request.decidedBy)}`;
    const at = request.decidedAt === null ? "" : ` at ${request.decidedAt.toISOString()}`;
    return `${mentionUser(login)} ${spec} was already decided (${formatCode(request.state)}${by}${at}); nothing was changed.`;
  }
  const decided =
    request.state === "granted"
      ? `${mentionUser(login)} granted ${spec}.`
      : `${mentionUser(login)} denied ${spec}. The agent is told why: ${escapeMarkdown(request.decisionReason ?? "")}`;
  return `${decided} ${renderResumeNote(resume)}`;
}
