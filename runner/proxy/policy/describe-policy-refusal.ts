import type { PolicyFinding } from "./endpoint-policy.ts";

/** How an agent asks for a capability (DESIGN §6); the same words in every refusal. */
export function describeHowToAsk(grant: string): string {
  return `to use it, ask for capability llm-tool:${grant} (airlock-request, or POST /airlock/v1/capabilities {"kind":"llm-tool","name":"${grant}","reason":"…"}); a maintainer approves it in the pull request`;
}

/** The refusal message for a request's findings: the first field in full, how many more. */
export function describePolicyRefusal(findings: readonly PolicyFinding[]): string {
  const first = findings[0];
  if (first === undefined) return "refused by the Airlock proxy's policy";
  const more = findings.length > 1 ? ` (and ${findings.length - 1} more refused field(s))` : "";
  return `${first.field} (${first.value}) is refused by the Airlock proxy: ${first.why}. This run does not hold capability llm-tool:${first.grant}; ${describeHowToAsk(first.grant)}. Nothing was sent to the provider${more}.`;
}
