/**
 * Marks Airlock's own comments so a re-published run finds (and edits) them instead of
 * doubling them. The app's first tracking comment and the runner's edits carry the same one.
 * `key` is the run id; for a capability request's review comment, `<runId>:<requestId>`.
 */
export function commentMarker(
  kind: "tracking" | "result" | "capability" | "capability-review",
  key: string,
): string {
  return `<!-- airlock:${kind}:${key} -->`;
}
