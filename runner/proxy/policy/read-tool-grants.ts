/**
 * The hosted tool types a run holds as capability `llm-tool:<type>` (DESIGN §6), read
 * where its account is loaded. Capabilities are not recorded yet (a later issue adds
 * them): every run holds none today, so everything the endpoint tables refuse is refused.
 * When approvals are recorded, this reads the run's approved `llm-tool:` grants.
 */
export function readToolGrants(_run: { id: string }): ReadonlySet<string> {
  return noGrants;
}

const noGrants: ReadonlySet<string> = new Set();
