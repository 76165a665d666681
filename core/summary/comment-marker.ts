/**
 * Marks Airlock's own comments so a re-published run finds (and edits) them instead of
 * doubling them. The app's first tracking comment and the runner's edits carry the same one.
 */
export function commentMarker(kind: "tracking" | "result", runId: string): string {
  return `<!-- airlock:${kind}:${runId} -->`;
}
