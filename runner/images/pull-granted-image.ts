import { z } from "zod";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { buildAgentImage } from "./build-agent-image.ts";
import type { SbomDelta } from "./build-granted-image.ts";
import { formatImageGrant, imageGrantSchema, normalizeImageGrants, type ImageGrant } from "./image-grant.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { readAddedPackages } from "./read-added-packages.ts";

const npmTreeSchema = z.array(
  z.object({
    name: z.string(),
    version: z.string(),
    integrity: z.string(),
    license: z.string().optional(),
    hasInstallScript: z.boolean(),
  }),
);

/**
 * The image the repository's workflow built and pushed (issue 11), pulled by digest and
 * checked before anything runs on it. The workflow runs on GitHub's machines with a token
 * anyone with write access can use, so its report is not trusted: the image's own labels
 * must name
 *
 * - this agent, and this runner's agent image and base image ids (it was built on exactly
 *   what a local rebuild would start from: the operator published that agent image);
 * - the run, the approved grants and their hash, as the app dispatched them.
 *
 * Any difference is an ImageBuildError naming the label: the caller resumes without the
 * new grants and says so on the thread. The SBOM delta is read from the image itself.
 */
export async function pullGrantedImage(
  runtime: ContainerRuntime,
  input: {
    agent: AgentDefinition;
    runId: string;
    image: string;
    grants: readonly string[];
    grantsSha256: string;
    logger: Logger;
  },
): Promise<{ ref: string; id: string; grants: ImageGrant[]; sbomDelta: SbomDelta; pullMs: number }> {
  const started = Date.now();
  if (!/@sha256:[0-9a-f]{64}$/.test(input.image)) {
    throw new ImageBuildError(`the workflow's image ${input.image} is not pinned by digest; refusing it`);
  }
  const local = await buildAgentImage(runtime, { agent: input.agent });
  let pulled;
  try {
    pulled = await runtime.pullImage(input.image);
  } catch (error) {
    throw new ImageBuildError(`could not pull ${input.image}: ${(error as Error).message}`, { cause: error });
  }
  const pullMs = Date.now() - started;
  const labels = pulled.labels;
  const expected: Record<string, string> = {
    "airlock.agent": input.agent.id,
    "airlock.run": input.runId,
    "airlock.agent-image-id": local.image.id,
    "airlock.base-image-id": local.baseImage.id,
    "airlock.grants-sha256": input.grantsSha256,
  };
  const wrong = Object.entries(expected).filter(([key, value]) => labels[key] !== value);
  let grants: ImageGrant[] = [];
  try {
    grants = normalizeImageGrants(
      z.array(imageGrantSchema).parse(JSON.parse(labels["airlock.grants"] ?? "")),
    );
  } catch {
    wrong.push(["airlock.grants", "a JSON list of grants"]);
  }
  const built = grants.map(formatImageGrant);
  // npm grants may have been resolved from an unpinned request: compare those by name.
  const missing = input.grants.filter(
    (text) =>
      !built.some(
        (b) =>
          b === text || (text.startsWith("npm:") && !text.slice(5).includes("@") && b.startsWith(`${text}@`)),
      ),
  );
  if (missing.length > 0 || built.length !== input.grants.length) {
    wrong.push(["airlock.grants", input.grants.join(",")]);
  }
  if (wrong.length > 0) {
    throw new ImageBuildError(
      `the image ${input.image} the workflow pushed does not match what was approved: ` +
        wrong
          .map(
            ([key, value]) =>
              `label ${key} is ${JSON.stringify(labels[key] ?? null).slice(0, 200)}, expected ${value}`,
          )
          .join("; ") +
        "; refusing to run the agent on it",
    );
  }
  const npm = parseNpmTree(labels["airlock.npm-tree"], input.image);
  const added = grants.some((g) => g.kind !== "npm")
    ? await readAddedPackages(runtime, input.logger, pulled.id)
    : { dpkg: [], pip: [] };
  return {
    ref: input.image,
    id: pulled.id,
    grants,
    sbomDelta: { dpkg: added.dpkg, npm, pip: added.pip },
    pullMs,
  };
}

function parseNpmTree(label: string | undefined, image: string): SbomDelta["npm"] {
  try {
    return npmTreeSchema.parse(JSON.parse(label ?? "[]"));
  } catch (error) {
    throw new ImageBuildError(`the image ${image} has an unreadable airlock.npm-tree label`, {
      cause: error,
    });
  }
}
