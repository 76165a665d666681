import { formatCapability } from "../../core/capabilities/format-capability.ts";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import { escapeMarkdown, formatCode } from "../../core/summary/escape-markdown.ts";

/** The tail that is shown: the end of a build log is where the error is. */
const maxTailChars = 6_000;

/**
 * The reply on a request's thread when the rebuild that would grant it failed (issue 10 §5).
 * The log is the build's output (package scripts' words included), so it goes in a code
 * fence longer than any backtick run in it: nothing in it renders, links or mentions.
 */
export function renderRebuildFailureReply(input: {
  spec: CapabilitySpec;
  reason: string;
  logTail: string;
}): string {
  // eslint-disable-next-line no-control-regex -- terminal escapes and other controls would garble the page
  const text = input.logTail.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  const tail = text.length > maxTailChars ? `…${text.slice(-maxTailChars)}` : text;
  const longest = Math.max(2, ...[...tail.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return [
    `The image rebuild that would grant ${formatCode(formatCapability(input.spec))} failed: ${escapeMarkdown(input.reason)}.`,
    "The request is marked failed and the run resumes without it.",
    "",
    "<details><summary>The end of the build log</summary>",
    "",
    `${fence}text`,
    tail,
    fence,
    "",
    "</details>",
  ].join("\n");
}
