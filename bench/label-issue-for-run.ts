import type { E2eWorld } from "../test/e2e/start-e2e-world.ts";

/**
 * One benchmark run through the app, as a maintainer starts it: scripts the model for
 * `name` (edit one file, then finish), opens an issue in `repo` that names the script, and
 * labels it `airlock:builtin`. Resolves once the app answered the webhook (200: the run is
 * recorded; 202: it is being recorded); returns the issue's number and when it was labelled.
 */
export async function labelIssueForRun(
  w: E2eWorld,
  repo: string,
  name: string,
): Promise<{ issue: number; labelledAt: number }> {
  w.upstream.define(`${name}.0`, {
    toolCall: {
      name: "edit_file",
      arguments: JSON.stringify({ path: "src/greet.js", old: "hello", new: `hello, ${name}` }),
    },
  });
  w.upstream.define(`${name}.1`, {
    toolCall: { name: "finish", arguments: JSON.stringify({ summary: "Done." }) },
  });
  const issue = w.gh.createIssue(repo, {
    title: `Greet ${name}`,
    body: `The greeting should say hello, ${name}. [[script:${name}]]`,
    user: "maintainer",
  });
  const labelledAt = Date.now();
  const delivery = await w.gh.deliver(
    "issues",
    w.gh.payloads.issuesLabeled({
      repo,
      issue: issue.number,
      label: "airlock:builtin",
      sender: "maintainer",
    }),
  );
  // 202: Octokit's webhook middleware answers so after 9 s while the handler goes on (a
  // loaded machine); the run is recorded all the same.
  if (delivery.status !== 200 && delivery.status !== 202)
    throw new Error(`the webhook was answered ${delivery.status}: ${delivery.body}`);
  return { issue: issue.number, labelledAt };
}
