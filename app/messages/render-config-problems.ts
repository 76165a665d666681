import type { RepoConfigProblem } from "../../core/repo-config/parse-repo-config.ts";
import { escapeMarkdown, formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** An invalid `.github/airlock.yml` refuses the run (never guessed around) and says what to fix. */
export function renderConfigProblems(sender: string, problems: readonly RepoConfigProblem[]): string {
  return [
    `${mentionUser(sender)} nothing was started: \`.github/airlock.yml\` on the default branch is not valid.`,
    "",
    ...problems.map((p) => `- ${formatCode(p.key)}: ${escapeMarkdown(p.message)}`),
    "",
    "Fix the file on the default branch, then ask again.",
  ].join("\n");
}
