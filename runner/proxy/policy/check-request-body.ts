import type { EndpointPolicy, PolicyFinding } from "./endpoint-policy.ts";

/**
 * What an endpoint's policy refuses in this body, minus what the run's grants open
 * (capability `llm-tool:<grant>`). Empty: the body may be forwarded.
 */
export function checkRequestBody(
  policy: EndpointPolicy,
  body: Readonly<Record<string, unknown>>,
  grants: ReadonlySet<string>,
): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  for (const rule of policy.refused) {
    for (const match of rule.find(body)) {
      if (!grants.has(match.grant)) findings.push({ ...match, why: rule.why });
    }
  }
  return findings;
}
