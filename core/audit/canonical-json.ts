/**
 * JSON with object keys sorted at every depth. The ledger hashes this form, not the
 * bytes we sent: Postgres' jsonb stores objects with its own key order (shorter keys
 * first), so a hash over `JSON.stringify` of the read-back value would not match.
 */
export function toCanonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return sorted;
  }
  return value;
}
