/**
 * The plain-text body of a refusal: what was refused, why, and how to ask. The agent
 * reads this (curl and most HTTP clients print a proxy's body), so it names the exact
 * command that asks a maintainer for the domain.
 */
export function egressRefusalText(what: string, reason: string, domain: string | undefined): string {
  const ask =
    domain === undefined
      ? 'To reach a domain, ask for it by name: airlock-request network:<domain> "<why the task needs it>"'
      : `To ask a maintainer for it: airlock-request network:${domain} "<why the task needs it>"`;
  return `Airlock egress proxy refused ${what}: ${reason}.\n${ask}\n`;
}
