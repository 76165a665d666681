import { ActionError } from "./action-error.ts";
import { imageCheckRunName, type ImageReport } from "../../core/capabilities/image-build-report.ts";

/**
 * Leaves the result on the dispatched commit as a check run (issue 11): the one report
 * that travels back through GitHub itself without a download (an artifact would be a zip
 * behind a redirect). The workflow's token needs `checks: write`, nothing more.
 */
export async function postImageCheckRun(input: {
  apiUrl: string;
  repository: string;
  token: string;
  commitSha: string;
  report: ImageReport;
  summary: string;
}): Promise<void> {
  const url = `${input.apiUrl}/repos/${input.repository}/check-runs`;
  const response = await fetch(url, {
    method: "POST",
    headers: {
      accept: "application/vnd.github+json",
      authorization: `Bearer ${input.token}`,
      "content-type": "application/json",
      "user-agent": "airlock-image-action",
      "x-github-api-version": "2022-11-28",
    },
    body: JSON.stringify({
      name: imageCheckRunName,
      head_sha: input.commitSha,
      external_id: input.report.runId,
      status: "completed",
      conclusion: input.report.image ? "success" : "failure",
      output: {
        title: input.report.image ? "Airlock image built" : "Airlock image not built",
        summary: input.summary.slice(0, 60_000),
        text: JSON.stringify(input.report),
      },
    }),
  }).catch((error: unknown) => {
    throw new ActionError(
      "report_failed",
      `could not reach ${url} to post the ${imageCheckRunName} check run: ${String((error as Error).cause ?? error)}`,
      {
        cause: error,
      },
    );
  });
  if (!response.ok) {
    throw new ActionError(
      "report_failed",
      `could not post the ${imageCheckRunName} check run (HTTP ${response.status}): ${(await response.text()).slice(0, 300)}; ` +
        "the workflow needs permissions: checks: write",
    );
  }
}
