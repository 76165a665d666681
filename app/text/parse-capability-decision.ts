import { cleanUntrustedText } from "./clean-untrusted-text.ts";

/** A denial's reason reaches the agent and capabilities.yml: one line, at most this long. */
export const maxDenyReasonChars = 500;

export const defaultDenyReason = "The maintainer denied this request without giving a reason.";

export type CapabilityDecision = { kind: "approve" } | { kind: "deny"; reason: string; givenReason: boolean };

/**
 * `/approve` or `/deny <why>` at the start of a reply in a capability request's thread
 * (issue 10 §4); undefined for anything else (conversation, `/airlock …`). The reason is
 * a maintainer's, but it is still GitHub text that reaches the agent: cleaned of hidden
 * markup and invisible characters like any untrusted text, flattened to one line, capped.
 */
export function parseCapabilityDecision(body: string): CapabilityDecision | undefined {
  const match = /^\s*\/(approve|deny)(?=\s|$)([\s\S]*)$/i.exec(body);
  if (!match) return undefined;
  if (match[1]!.toLowerCase() === "approve") return { kind: "approve" };
  const cleaned = cleanUntrustedText(match[2] ?? "", { maxChars: maxDenyReasonChars })
    .text.replace(/\s+/g, " ")
    .trim();
  return cleaned === ""
    ? { kind: "deny", reason: defaultDenyReason, givenReason: false }
    : { kind: "deny", reason: cleaned, givenReason: true };
}
