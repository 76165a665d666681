import { mentionUser } from "../../core/summary/mention-user.ts";

/** `/airlock` on a pull request Airlock did not open: follow-ups only work on Airlock's own branches. */
export function renderNotAirlockPull(sender: string): string {
  return (
    `${mentionUser(sender)} this pull request was not opened by Airlock, so \`/airlock\` does nothing here. ` +
    "Start a run from an issue (label `airlock:<agent>` or comment `/airlock run`)."
  );
}
