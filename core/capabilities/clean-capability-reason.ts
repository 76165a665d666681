import type { CapabilityCheck } from "./capability-kinds.ts";

export const maxCapabilityReasonLength = 1000;

// C0 and C1 controls, DEL, and the bidirectional overrides and isolates that let text in a
// review read differently from what it is ("Trojan Source", CVE-2021-42574); zero-width
// characters that hide content. Each becomes a space, then runs of spaces become one.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const unsafeCharacters = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/**
 * The agent's reason, as a maintainer will read it in the PR: required, one line, at most
 * 1000 characters after cleaning. It is untrusted text: the renderers escape it again for
 * Markdown and YAML.
 */
export function cleanCapabilityReason(reason: string): CapabilityCheck<{ reason: string }> {
  const cleaned = reason.replace(unsafeCharacters, " ").replace(/\s+/g, " ").trim();
  if (cleaned.length === 0) {
    return {
      ok: false,
      field: "reason",
      reason: "say why the task needs it: the reason is what the maintainer decides on",
    };
  }
  if (cleaned.length > maxCapabilityReasonLength) {
    return {
      ok: false,
      field: "reason",
      reason: `the reason is at most ${maxCapabilityReasonLength} characters; say briefly why the task needs it`,
    };
  }
  return { ok: true, reason: cleaned };
}
