import { parse } from "yaml";
import { readPath, resolveCommit } from "./bare-git-repo.ts";
import type { CheckRun, Repo, WorkflowRun } from "./github-state.ts";
import { renderApp, renderCheckRun } from "./render-github-resources.ts";
import type { RouteHandler, RouteResult, StandInCore } from "./stand-in-core.ts";

type Json = Record<string, unknown>;

/** The app GitHub names as the author of what a workflow's GITHUB_TOKEN writes. */
export const githubActionsApp = { id: 15368, slug: "github-actions" };

/** What the stand-in reads from a workflow file: enough to accept or refuse a dispatch as GitHub does. */
export type WorkflowFile = {
  name: string;
  runName: string | undefined;
  dispatchInputs: Map<string, { required: boolean; default: string | undefined }> | undefined;
  permissions: Record<string, string>;
};

/** `.github/workflows/<file>` at `commit`, parsed; undefined when there is no such file. */
export async function readWorkflowFile(
  repo: Repo,
  commit: string,
  file: string,
): Promise<WorkflowFile | undefined> {
  const entry = await readPath(repo.gitDir, commit, `.github/workflows/${file}`);
  if (entry?.type !== "file") return undefined;
  const doc = parse(entry.content.toString("utf8")) as Json;
  const on = doc.on as Json | string | string[] | undefined;
  const hasDispatch =
    on === "workflow_dispatch" ||
    (Array.isArray(on) && on.includes("workflow_dispatch")) ||
    (typeof on === "object" && on !== null && !Array.isArray(on) && "workflow_dispatch" in on);
  const dispatch =
    typeof on === "object" && on !== null && !Array.isArray(on)
      ? (on.workflow_dispatch as Json | null)
      : null;
  const inputs = new Map<string, { required: boolean; default: string | undefined }>();
  for (const [key, value] of Object.entries((dispatch?.inputs as Json | undefined) ?? {})) {
    const v = (value ?? {}) as Json;
    inputs.set(key, {
      required: v.required === true,
      default: v.default === undefined ? undefined : String(v.default),
    });
  }
  const permissions = (
    typeof doc.permissions === "object" && doc.permissions !== null ? doc.permissions : {}
  ) as Record<string, string>;
  return {
    name: typeof doc.name === "string" ? doc.name : `.github/workflows/${file}`,
    runName: typeof doc["run-name"] === "string" ? doc["run-name"] : undefined,
    dispatchInputs: hasDispatch ? inputs : undefined,
    permissions,
  };
}

const dispatchDocs = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event";

function githubError(status: number, message: string, documentationUrl = dispatchDocs): RouteResult {
  return { status, body: { message, documentation_url: documentationUrl, status: String(status) } };
}

export const actionsRoutes: Record<string, RouteHandler> = {
  /**
   * As GitHub answers it: the workflow file must exist on `ref` (404), have a
   * workflow_dispatch trigger (422), and get only inputs it declares, every required one
   * (422). The run is queued; a test plays the Actions runner (startWorkflowRun).
   */
  "actions/create-workflow-dispatch": async (call) => {
    const repo = call.repo as Repo;
    const file = call.params.workflow_id ?? "";
    const ref = String(call.body.ref);
    const sha = await resolveCommit(repo.gitDir, ref.replace(/^refs\/heads\//, ""));
    if (sha === undefined) return githubError(422, `No ref found for: ${ref}`);
    const workflow = /^[0-9]+$/.test(file) ? undefined : await readWorkflowFile(repo, sha, file);
    if (workflow === undefined) return githubError(404, "Not Found");
    if (workflow.dispatchInputs === undefined) {
      return githubError(422, "Workflow does not have 'workflow_dispatch' trigger");
    }
    const given = (call.body.inputs as Record<string, unknown> | undefined) ?? {};
    const unexpected = Object.keys(given).filter((k) => !workflow.dispatchInputs?.has(k));
    if (unexpected.length > 0) {
      return githubError(422, `Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    }
    const inputs: Record<string, string> = {};
    for (const [key, spec] of workflow.dispatchInputs) {
      const value = given[key] === undefined ? spec.default : String(given[key]);
      if (value === undefined && spec.required)
        return githubError(422, `Required input '${key}' not provided`);
      if (value !== undefined) inputs[key] = value;
    }
    const now = call.core.nowIso();
    const run: WorkflowRun = {
      id: call.core.nextId(),
      repo: repo.fullName,
      path: `.github/workflows/${file}`,
      name: workflow.name,
      displayTitle:
        workflow.runName?.replace(
          /\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g,
          (_, k: string) => inputs[k] ?? "",
        ) ?? workflow.name,
      headBranch: ref.replace(/^refs\/heads\//, ""),
      headSha: sha,
      inputs,
      permissions: workflow.permissions,
      status: "queued",
      conclusion: null,
      actor: call.actor.login,
      runNumber: call.core.state.workflowRuns.filter((r) => r.repo === repo.fullName).length + 1,
      createdAt: now,
      updatedAt: now,
    };
    call.core.state.workflowRuns.push(run);
    if (call.body.return_run_details !== true) return { status: 204 };
    return {
      status: 200,
      body: {
        workflow_run_id: run.id,
        run_url: `${call.core.urls.api}/repos/${repo.fullName}/actions/runs/${run.id}`,
        html_url: `${call.core.urls.web}/${repo.fullName}/actions/runs/${run.id}`,
      },
    };
  },

  "checks/list-for-ref": async (call) => {
    const repo = call.repo as Repo;
    const sha = await resolveCommit(repo.gitDir, call.params.ref ?? "");
    if (sha === undefined) return githubError(422, `No commit found for SHA: ${call.params.ref ?? ""}`);
    const name = call.query.check_name as string | undefined;
    const appId = call.query.app_id === undefined ? undefined : Number(call.query.app_id);
    const runs = call.core.state.checkRuns
      .filter((r) => r.repo === repo.fullName && r.headSha === sha)
      .filter((r) => name === undefined || r.name === name)
      .filter((r) => appId === undefined || checkRunApp(call.core, r).id === appId)
      .reverse();
    return {
      status: 200,
      body: {
        total_count: runs.length,
        check_runs: runs.map((r) =>
          renderCheckRun(call.core.urls, r, renderApp(call.core.urls, checkRunApp(call.core, r)), repo),
        ),
      },
    };
  },
};

/** The app a check run belongs to: github-actions for a workflow token's, else the stand-in's app. */
export function checkRunApp(
  core: StandInCore,
  run: CheckRun,
): { id: number; slug: string; owner: StandInCore["app"]["owner"] } {
  return run.appSlug === githubActionsApp.slug
    ? { ...githubActionsApp, owner: core.ensureUser("github", "Organization") }
    : core.app;
}
