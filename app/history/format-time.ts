/** `2026-11-30 14:20:01 UTC`: one time zone for every operator reading the page. */
export function formatTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}
