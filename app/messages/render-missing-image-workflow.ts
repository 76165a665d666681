import { formatCode } from "../../core/summary/escape-markdown.ts";

/**
 * The reply when `images.build: actions` is set but GitHub would not start the workflow
 * because the file is not on the default branch (issue 11): exactly which file to add,
 * where, with what, and what happens to the run meanwhile.
 */
export function renderMissingImageWorkflow(input: {
  runId: string;
  workflow: string;
  defaultBranch: string;
  registry: string;
  template: string;
}): string {
  const path = `.github/workflows/${input.workflow}`;
  return [
    `Airlock run ${formatCode(input.runId)}: this repository builds its images on GitHub Actions ` +
      `(${formatCode("images.build: actions")} in ${formatCode(".github/airlock.yml")}), but GitHub has no ` +
      `${formatCode(path)} on ${formatCode(input.defaultBranch)} to start. The run resumes without the new ` +
      "apt and npm grants.",
    "",
    `To build them on Actions, add ${formatCode(path)} to ${formatCode(input.defaultBranch)} with this content ` +
      "(Airlock's template, `action/airlock-image.yml`; pin its `uses:` line to the Airlock commit you run), " +
      `publish the agent images to ${formatCode(input.registry)} (tag ${formatCode("<agent>")}, e.g. ` +
      `${formatCode(`${input.registry}:builtin`)}), then ask again:`,
    "",
    "```yaml",
    input.template.trimEnd(),
    "```",
  ].join("\n");
}
