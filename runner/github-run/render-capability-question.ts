import { formatCapability } from "../../core/capabilities/format-capability.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import { commentMarker } from "../../core/summary/comment-marker.ts";
import { escapeMarkdown, formatCode } from "../../core/summary/escape-markdown.ts";

/** What the host found out about one request: the facts, or why there are none. */
export type GatheredFacts = { ok: true; lines: string[] } | { ok: false; why: string };

/**
 * The review comment that asks about one request, on its line of capabilities.yml (issue 10
 * §3): what is asked, the agent's reason, the facts gathered on the host, how to answer. The
 * reason is the agent's (untrusted): escaped to plain text, its @-mentions neutralised. The
 * marker lets a re-published pause find the comment instead of asking twice.
 */
export function renderCapabilityQuestion(input: {
  request: CapabilityRequest;
  facts: GatheredFacts;
  whoMayDecide: string;
  /** False for a request asked in the review's text (it has no line): only approving the review answers it. */
  onItsLine?: boolean;
}): string {
  const onItsLine = input.onItsLine !== false;
  const { request } = input;
  const spec = formatCapability({
    kind: request.kind,
    name: request.name,
    version: request.version ?? undefined,
  });
  return [
    ...(onItsLine ? [commentMarker("capability", `${request.runId}:${request.id}`)] : []),
    `**The agent asks for ${formatCode(spec)}** (run ${formatCode(request.runId)}, request ${request.id}).`,
    "",
    "Its reason, in its own words (not checked by Airlock):",
    "",
    `> ${escapeMarkdown(request.reason)}`,
    "",
    "**Facts gathered on the runner**",
    "",
    ...(input.facts.ok
      ? input.facts.lines
      : [
          `- Could not be gathered: ${escapeMarkdown(input.facts.why)}. Check the package yourself before deciding.`,
        ]),
    "",
    onItsLine
      ? "**To answer:** approve this review to grant every pending request of this run, or reply in this thread " +
        "with `/approve` to grant this one, or `/deny <why>` to refuse it (the agent is told why)."
      : "**To answer:** this request has no line of its own to answer on: approving this review grants it, " +
        "with every other pending request of this run.",
    ...(onItsLine ? [input.whoMayDecide] : []),
  ].join("\n");
}
