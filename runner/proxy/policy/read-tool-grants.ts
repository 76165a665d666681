/**
 * The hosted tool types a run holds as capability `llm-tool:<type>` (DESIGN §6, issue 10):
 * its granted requests of that kind, read with the run's account (run-ledger.ts), so a
 * grant decided while the run was parked holds from the first call of the next segment.
 * Everything else the endpoint tables refuse stays refused.
 */
export function readToolGrants(row: { toolGrants: readonly string[] | null }): ReadonlySet<string> {
  return row.toolGrants === null || row.toolGrants.length === 0 ? noGrants : new Set(row.toolGrants);
}

const noGrants: ReadonlySet<string> = new Set();
