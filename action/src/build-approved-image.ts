import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatImageGrant, type ImageGrant } from "../../runner/images/image-grant.ts";
import { prepareNpmGrants, type NpmTreeEntry } from "../../runner/images/prepare-npm-grants.ts";
import { parseAddedPackages, type AddedPackage } from "../../runner/images/read-added-packages.ts";
import { addedPackagesFile, renderGrantedDockerfile } from "../../runner/images/render-granted-dockerfile.ts";
import { ActionError } from "./action-error.ts";
import { runDocker } from "./run-docker.ts";

export interface ApprovedImage {
  /** `registry/image:tag@sha256:…`: what the runner pulls. */
  ref: string;
  digest: string;
  grants: ImageGrant[];
  sbomDelta: { dpkg: AddedPackage[]; npm: NpmTreeEntry[]; pip: AddedPackage[] };
  agentImageId: string;
  baseImageId: string;
  buildMs: number;
  pushMs: number;
}

/**
 * Builds the approved grants on the agent image and pushes the result (issue 11), with the
 * runner's own recipe (renderGrantedDockerfile, prepareNpmGrants, parseAddedPackages), so
 * an image built here holds what a local rebuild would.
 *
 * 1. Pull the agent image; it must be the agent's (`airlock.agent` label) and say which
 *    base it was built on.
 * 2. Build FROM its id, labelled with the grants, their hash, the run, the agent image id
 *    and the base id: the labels the runner checks before it runs anything on it.
 * 3. The SBOM delta from the file the build wrote, read in a container with no network.
 * 4. Push; the digest comes from the registry's answer, recorded in RepoDigests.
 */
export async function buildApprovedImage(input: {
  runId: string;
  agent: string;
  baseImage: string;
  registry: string;
  image: string;
  grants: ImageGrant[];
  grantsSha256: string;
  log: (line: string) => void;
}): Promise<ApprovedImage> {
  const started = Date.now();
  await runDocker(["pull", input.baseImage]);
  const inspected = JSON.parse(
    await runDocker(["image", "inspect", "--format", "{{json .}}", input.baseImage], { silent: true }),
  ) as { Id: string; Config?: { Labels?: Record<string, string> | null } };
  const labels = inspected.Config?.Labels ?? {};
  if (labels["airlock.agent"] !== input.agent) {
    throw new ActionError(
      "invalid_input",
      `input "base_image": ${input.baseImage} is not an Airlock image of agent ${input.agent} ` +
        `(its airlock.agent label is ${labels["airlock.agent"] ?? "missing"})`,
      { input: "base_image" },
    );
  }
  const baseImageId = labels["airlock.base-image-id"];
  if (baseImageId === undefined || !/^sha256:[0-9a-f]{64}$/.test(baseImageId)) {
    throw new ActionError(
      "invalid_input",
      `input "base_image": ${input.baseImage} has no airlock.base-image-id label`,
      {
        input: "base_image",
      },
    );
  }

  const contextDir = await mkdtemp(join(tmpdir(), "airlock-action-image-"));
  try {
    let grants = input.grants;
    let npmTree: NpmTreeEntry[] = [];
    const npmAsked = grants.filter((g) => g.kind === "npm");
    if (npmAsked.length > 0) {
      const prepared = await prepareNpmGrants({
        grants: npmAsked,
        folder: join(contextDir, "npm"),
        onProgress: input.log,
      });
      npmTree = prepared.tree;
      grants = [...grants.filter((g) => g.kind !== "npm"), ...prepared.grants];
    }
    if (grants.some((g) => g.kind === "pip")) {
      // The runner takes pip packages from an operator's index (AIRLOCK_PIP_INDEX_URL); a
      // workflow has no such setting yet, so pip grants are built locally only.
      throw new ActionError(
        "grants_refused",
        "pip grants are not built by the Action yet; use images.build: local",
      );
    }
    const recipe = renderGrantedDockerfile(grants);
    const recipeDigest = createHash("sha256")
      .update(`${recipe}\0${npmTree.map((p) => `${p.name}@${p.version} ${p.integrity}`).join("\n")}`)
      .digest("hex");
    const tagDigest = createHash("sha256")
      .update(
        JSON.stringify({
          agentImage: inspected.Id,
          grants: grants.map(formatImageGrant),
          recipe: recipeDigest,
        }),
      )
      .digest("hex");
    const tagged = `${input.registry}/${input.image}:${input.agent}-${tagDigest}`;
    const dockerfile = renderGrantedDockerfile(grants, {
      "airlock.agent": input.agent,
      "airlock.grants": JSON.stringify(grants),
      "airlock.capabilities": grants.map(formatImageGrant).join(","),
      "airlock.grants-sha256": input.grantsSha256,
      "airlock.run": input.runId,
      "airlock.base-image-id": baseImageId,
      "airlock.agent-image-id": inspected.Id,
      "airlock.recipe-digest": recipeDigest,
      "airlock.npm-tree": JSON.stringify(npmTree),
    });
    await writeFile(join(contextDir, "Dockerfile"), dockerfile);
    input.log(
      `building ${tagged} on ${input.baseImage} (${inspected.Id}) with ${grants.map(formatImageGrant).join(", ")}`,
    );
    // The classic builder: the recipe starts FROM an image id, which BuildKit would look up
    // in a registry instead of the engine's own store.
    await runDocker(
      [
        "build",
        "--build-arg",
        `AGENT_IMAGE=${inspected.Id}`,
        "--build-arg",
        `CONTENT_DIGEST=${createHash("sha256").update(`${tagged}\0${dockerfile}`).digest("hex")}`,
        "--tag",
        tagged,
        contextDir,
      ],
      { env: { DOCKER_BUILDKIT: "0" } },
    );
    const buildMs = Date.now() - started;
    const added = grants.some((g) => g.kind === "apt")
      ? parseAddedPackages(
          await runDocker(
            [
              "run",
              "--rm",
              "--network",
              "none",
              "--read-only",
              "--cap-drop",
              "ALL",
              "--security-opt",
              "no-new-privileges",
              "--user",
              "1001:1001",
              "--entrypoint",
              "cat",
              tagged,
              addedPackagesFile,
            ],
            { silent: true },
          ),
          `${addedPackagesFile} in ${tagged}`,
        )
      : { dpkg: [], pip: [] };
    const pushStarted = Date.now();
    await runDocker(["push", tagged]);
    const repoDigests = JSON.parse(
      await runDocker(["image", "inspect", "--format", "{{json .RepoDigests}}", tagged], { silent: true }),
    ) as string[];
    const repo = `${input.registry}/${input.image}`;
    const pushed = repoDigests.find((d) => d.startsWith(`${repo}@sha256:`));
    if (!pushed)
      throw new ActionError(
        "docker_failed",
        `pushed ${tagged} but the engine recorded no digest for ${repo}`,
      );
    const digest = pushed.slice(repo.length + 1);
    return {
      ref: `${tagged}@${digest}`,
      digest,
      grants,
      sbomDelta: { dpkg: added.dpkg, npm: npmTree, pip: added.pip },
      agentImageId: inspected.Id,
      baseImageId,
      buildMs,
      pushMs: Date.now() - pushStarted,
    };
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
}
