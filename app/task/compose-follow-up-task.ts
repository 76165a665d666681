import { formatCode } from "../../core/summary/escape-markdown.ts";
import { cleanUntrustedText } from "../text/clean-untrusted-text.ts";

export interface FollowUpTaskParts {
  pullNumber: number;
  branch: string;
  by: string;
  feedback: string;
  /** A review comment sits on a line of the diff: where, and the hunk it is attached to. */
  review?: { path: string; line: number | null; diffHunk: string } | undefined;
  maxChars: number;
}

/**
 * A follow-up run's task: the reviewer's feedback (they met `min_permission`), plus, for a
 * review comment, the file, line and hunk it refers to. The hunk is repository content the
 * previous agent may have written, so it is cleaned and fenced like any untrusted text.
 */
export function composeFollowUpTask(parts: FollowUpTaskParts): { prompt: string; hasTrustedText: boolean } {
  const cap = Math.max(1000, parts.maxChars);
  const feedback = cleanUntrustedText(parts.feedback, { maxChars: Math.floor(cap / 2) }).text.trim();
  const sections = [
    `## Follow-up on pull request #${parts.pullNumber}`,
    `The branch ${formatCode(parts.branch)} already holds the earlier run's changes; continue from it.`,
    `### Feedback from @${parts.by}\n\n${feedback || "(no text: address the review comment below)"}`,
  ];
  if (parts.review) {
    const path = cleanUntrustedText(parts.review.path, { maxChars: 300 }).text.replace(/\s+/g, " ");
    const hunk = cleanUntrustedText(parts.review.diffHunk, { maxChars: Math.floor(cap / 3) }).text;
    const fence = "`".repeat(Math.max(3, ...[...hunk.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    sections.push(
      `### On ${formatCode(path)}${parts.review.line !== null ? `, line ${parts.review.line}` : ""}\n\n${fence}diff\n${hunk}\n${fence}`,
    );
  }
  return {
    prompt: sections.join("\n\n") + "\n",
    hasTrustedText: feedback.length > 0 || parts.review !== undefined,
  };
}
