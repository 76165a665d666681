/**
 * A cost the database summed exactly (a decimal string) shown to four decimals, `$0.0123`.
 * Calls cost fractions of a cent, so fewer places would show most runs as `$0.00`.
 */
export function formatUsd(decimal: string): string {
  const value = Number(decimal);
  return Number.isFinite(value) ? `$${value.toFixed(4)}` : `$${decimal}`;
}
