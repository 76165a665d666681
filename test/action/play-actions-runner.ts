import { spawn } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { tryGit } from "../helpers/git-repo.ts";
import type { GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";

const actionDir = fileURLToPath(new URL("../../action/", import.meta.url));

export interface ActionRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Milliseconds the Action's node process ran. */
  durationMs: number;
}

type Json = Record<string, unknown>;

/**
 * Plays the GitHub Actions runner for one dispatched run of the template workflow
 * (action/airlock-image.yml), as faithfully as a test can (issue 11):
 *
 * 1. The stand-in starts the run and mints its GITHUB_TOKEN with the workflow's own
 *    `permissions:`.
 * 2. The checkout step: the repository is cloned over the stand-in's git HTTP with that
 *    token, and the step's `ref:` checked out.
 * 3. The Action step: its `with:` expressions are evaluated (`inputs.*`, `github.token`,
 *    `github.actor`; anything else fails the test, so the template cannot lean on what is
 *    not modelled), action.yml's defaults fill the rest, and `node action/dist/index.js`
 *    runs with INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH,
 *    GITHUB_WORKSPACE and the runner's GITHUB_* variables.
 */
export async function playActionsRunner(input: {
  gh: GitHubStandIn;
  workflowRunId: number;
  workflowText: string;
  tmpDir: string;
  /** Replace one input's value after evaluation (a tampered dispatch, a bad input). */
  override?: Record<string, string>;
}): Promise<ActionRun> {
  const { run, token, env, event } = input.gh.startWorkflowRun(input.workflowRunId);
  const home = await mkdtemp(join(input.tmpDir, "actions-runner-"));
  const workspace = join(home, "workspace");
  const workflow = parse(input.workflowText) as Json;
  const steps = ((workflow.jobs as Json).build as { steps: Json[] }).steps;
  const evaluate = (value: unknown): string =>
    String(value ?? "").replace(/\$\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_, expr: string) => {
      if (expr.startsWith("inputs.")) return run.inputs[expr.slice("inputs.".length)] ?? "";
      if (expr === "github.token") return token;
      if (expr === "github.actor") return run.actor;
      throw new Error(`the template uses \${{ ${expr} }}, which this test does not model`);
    });

  const checkout = steps.find((s) => String(s.uses).startsWith("actions/checkout@"));
  if (checkout === undefined) throw new Error("the template has no actions/checkout step");
  const ref = evaluate((checkout.with as Json | undefined)?.ref);
  const auth = `http.extraHeader=Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
  const cloned = await tryGit(home, [
    "-c",
    auth,
    "clone",
    "--quiet",
    `${input.gh.gitUrl}/${run.repo}.git`,
    workspace,
  ]);
  if (cloned.code !== 0) throw new Error(`checkout: git clone failed: ${cloned.stderr}`);
  const checkedOut = await tryGit(workspace, ["checkout", "--quiet", "--detach", ref]);
  if (checkedOut.code !== 0) throw new Error(`checkout: git checkout ${ref} failed: ${checkedOut.stderr}`);

  const step = steps.find((s) => String(s.uses).includes("/action@"));
  if (step === undefined) throw new Error("the template has no step using Airlock's action/");
  const actionYml = parse(await readFile(join(actionDir, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: unknown }>;
    runs: { using: string; main: string };
  };
  if (actionYml.runs.using !== "node24") throw new Error(`action.yml runs.using is ${actionYml.runs.using}`);
  const withs = (step.with as Json | undefined) ?? {};
  const inputEnv: Record<string, string> = {};
  for (const [name, spec] of Object.entries(actionYml.inputs)) {
    const raw = name in withs ? withs[name] : spec.default;
    const value = input.override?.[name] ?? evaluate(raw);
    inputEnv[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  }
  const eventPath = join(home, "event.json");
  const outputPath = join(home, "output");
  const summaryPath = join(home, "summary");
  await writeFile(eventPath, JSON.stringify(event));
  await writeFile(outputPath, "");
  await writeFile(summaryPath, "");
  const started = Date.now();
  const child = spawn(process.execPath, [join(actionDir, actionYml.runs.main)], {
    cwd: workspace,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...env,
      ...inputEnv,
      GITHUB_WORKSPACE: workspace,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_OUTPUT: outputPath,
      GITHUB_STEP_SUMMARY: summaryPath,
      RUNNER_TEMP: home,
      // docker login writes its credentials here, not in the host's ~/.docker.
      DOCKER_CONFIG: join(home, ".docker"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exitCode = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(await readFile(outputPath, "utf8")),
    summary: await readFile(summaryPath, "utf8"),
    durationMs: Date.now() - started,
  };
}

/** GITHUB_OUTPUT as the toolkit writes it: `name<<delimiter`, the value, the delimiter. */
function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? "");
    if (match === null) continue;
    const [, name = "", delimiter] = match;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? "");
    outputs[name] = value.join("\n");
  }
  return outputs;
}
