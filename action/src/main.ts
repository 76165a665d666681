import * as core from "@actions/core";
import { getExecOutput } from "@actions/exec";
import { formatImageGrant } from "../../runner/images/image-grant.ts";
import { ActionError } from "./action-error.ts";
import { buildApprovedImage, type ApprovedImage } from "./build-approved-image.ts";
import { postImageCheckRun } from "./post-image-check-run.ts";
import { readActionInputs, type ActionInputs } from "./read-action-inputs.ts";
import { readApprovedGrants } from "./read-approved-grants.ts";
import { renderImageSummary } from "./render-image-summary.ts";
import { runDocker } from "./run-docker.ts";

/**
 * The Action's entry (issue 11): inputs → the grants checked against the capabilities file
 * at the commit → docker login → build and push → outputs, job summary and the check run
 * that brings the result back to Airlock. Any refusal fails the job and is reported too.
 */
async function main(): Promise<void> {
  let inputs: ActionInputs | undefined;
  let built: ApprovedImage | undefined;
  try {
    inputs = readActionInputs(core.getInput);
    core.setSecret(inputs.registryPassword);
    core.setSecret(inputs.token);
    const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
    const where = `${inputs.capabilitiesFile} at ${inputs.commitSha}`;
    // The file as committed, not as checked out: the approval covers that commit.
    const shown = await getExecOutput(
      "git",
      ["-C", workspace, "show", `${inputs.commitSha}:${inputs.capabilitiesFile}`],
      {
        ignoreReturnCode: true,
        silent: true,
      },
    );
    if (shown.exitCode !== 0) {
      throw new ActionError(
        "grants_refused",
        `cannot read ${where} (${shown.stderr.trim()}); check out the repository with fetch-depth: 0 or ref: the commit`,
        { input: "commit_sha" },
      );
    }
    const grants = readApprovedGrants({
      fileText: shown.stdout,
      runId: inputs.runId,
      grants: inputs.grants,
      grantsSha256: inputs.grantsSha256,
      where,
    });
    core.info(`approved for run ${inputs.runId}: ${grants.map(formatImageGrant).join(", ")}`);
    // The password goes on stdin: never on a command line, where `ps` would show it.
    await runDocker(["login", inputs.registry, "--username", inputs.registryUsername, "--password-stdin"], {
      input: Buffer.from(inputs.registryPassword),
    });
    built = await buildApprovedImage({
      runId: inputs.runId,
      agent: inputs.agent,
      baseImage: inputs.baseImage,
      registry: inputs.registry,
      image: inputs.image,
      grants,
      grantsSha256: inputs.grantsSha256,
      log: (line) => core.info(line),
    });
    core.setOutput("image", built.ref);
    core.setOutput("digest", built.digest);
    core.setOutput("grants", built.grants.map(formatImageGrant).join(","));
    core.setOutput("sbom-delta", JSON.stringify(built.sbomDelta));
    const summary = renderImageSummary(inputs.runId, built);
    await core.summary.addRaw(summary).write();
    await report(inputs, summary, { image: built.ref });
  } catch (error) {
    const message = (error as Error).message;
    core.setFailed(message);
    if (inputs !== undefined && built === undefined) {
      const summary = renderImageSummary(inputs.runId, undefined, message);
      await core.summary.addRaw(summary).write();
      await report(inputs, summary, { error: message.slice(0, 2000) }).catch((e: unknown) =>
        core.warning((e as Error).message),
      );
    }
  }
}

async function report(inputs: ActionInputs, summary: string, result: { image?: string; error?: string }) {
  await postImageCheckRun({
    apiUrl: process.env.GITHUB_API_URL ?? "https://api.github.com",
    repository: process.env.GITHUB_REPOSITORY ?? "",
    token: inputs.token,
    commitSha: inputs.commitSha,
    report: { runId: inputs.runId, grantsSha256: inputs.grantsSha256, ...result },
    summary,
  });
}

await main();
