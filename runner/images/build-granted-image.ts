import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime, ImageInfo } from "../container/container-runtime.ts";
import { buildAgentImage } from "./build-agent-image.ts";
import { buildCheckedImage } from "./build-checked-image.ts";
import { GrantedImageBuildError } from "./granted-image-build-error.ts";
import { computeGrantedImageTag } from "./granted-image-tag.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { formatImageGrant, imageGrantSchema, normalizeImageGrants, type ImageGrant } from "./image-grant.ts";
import { prepareNpmGrants, type NpmTreeEntry } from "./prepare-npm-grants.ts";
import { parseAddedPackages, readAddedPackages, type AddedPackage } from "./read-added-packages.ts";
import { addedMarker, renderGrantedDockerfile } from "./render-granted-dockerfile.ts";

export interface BuildGrantedImageOptions {
  agent: AgentDefinition;
  grants: readonly ImageGrant[];
  logger: Logger;
  /** AIRLOCK_PIP_INDEX_URL: where pip grants come from; pip grants are refused without it. */
  pipIndexUrl?: string | undefined;
  /** Default: this checkout's `agent-images/`. */
  imagesDir?: string | undefined;
  /** Rebuild the grant layers (not the agent image) instead of taking them from the cache. */
  noCache?: boolean | undefined;
  onProgress?: ((line: string) => void) | undefined;
  npmCommand?: string | undefined;
}

/** What a granted image added over its agent image (issue 10 §5 "SBOM delta"). */
export interface SbomDelta {
  dpkg: AddedPackage[];
  npm: NpmTreeEntry[];
  pip: AddedPackage[];
}

export interface BuiltGrantedImage {
  /** `airlock/<agent>:<sha256 of base id + agent inputs digest + sorted grants>`. */
  ref: string;
  image: ImageInfo;
  /** The cached agent image it was built on. */
  agentImage: { ref: string; id: string };
  baseImageId: string;
  agentInputsDigest: string;
  /** sha256 of the generated Dockerfile (without labels) and the npm tree; part of the tag. */
  recipeDigest: string;
  /** Sorted, de-duplicated, npm versions resolved: what the tag hashes. */
  grants: ImageGrant[];
  sbomDelta: SbomDelta;
  /** Build steps the engine ran (0: every step from the cache, the same image id). */
  stepsRun: number;
  durationMs: number;
}

/** Lines of build output a failure carries (issue 10: the log tail posted on the thread). */
const logTailLines = 40;

/**
 * Builds an agent's image with grants, on top of its cached agent image (issue 10 §5).
 *
 * 1. The grants are checked again (callers may pass parsed JSON) and sorted; pip needs
 *    AIRLOCK_PIP_INDEX_URL.
 * 2. The agent image is ensured (a cache hit when current), giving the base id and the
 *    agent's inputs digest.
 * 3. npm grants are resolved and fetched on the host into a throw-away build context.
 * 4. The tag is computed; the image is built FROM the agent image's id with one layer per
 *    kind (renderGrantedDockerfile), labelled with the grants, base and agent digest. The
 *    same grants again take every step from the cache: same id, seconds.
 * 5. The SBOM delta: dpkg and pip from the file the build wrote in the image, npm from the
 *    tree installed on the host.
 * A failed build throws GrantedImageBuildError with the last 40 lines of its output.
 */
export async function buildGrantedImage(
  runtime: ContainerRuntime,
  options: BuildGrantedImageOptions,
): Promise<BuiltGrantedImage> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const asked = normalizeImageGrants(options.grants.map((g) => parseGrantValue(g)));
  if (asked.length === 0) throw new ImageBuildError("no apt, npm or pip grant to build an image with");
  const hasPip = asked.some((g) => g.kind === "pip");
  const pipIndexUrl = hasPip ? checkPipIndexUrl(options.pipIndexUrl) : undefined;

  const agentBuilt = await buildAgentImage(runtime, {
    agent: options.agent,
    onProgress: progress,
    ...(options.imagesDir ? { imagesDir: options.imagesDir } : {}),
    ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
  });
  const contextDir = await mkdtemp(join(tmpdir(), "airlock-granted-image-"));
  try {
    const npmAsked = asked.filter((g) => g.kind === "npm");
    let npmTree: NpmTreeEntry[] = [];
    let grants = asked;
    if (npmAsked.length > 0) {
      const prepared = await prepareNpmGrants({
        grants: npmAsked,
        folder: join(contextDir, "npm"),
        npmCommand: options.npmCommand,
        onProgress: progress,
      });
      npmTree = prepared.tree;
      grants = normalizeImageGrants([...asked.filter((g) => g.kind !== "npm"), ...prepared.grants]);
    }
    const recipeDigest = createHash("sha256")
      .update(
        `${renderGrantedDockerfile(grants)}\0${npmTree.map((p) => `${p.name}@${p.version} ${p.integrity}`).join("\n")}`,
      )
      .digest("hex");
    const ref = computeGrantedImageTag({
      agent: options.agent.id,
      baseImageId: agentBuilt.baseImage.id,
      agentInputsDigest: agentBuilt.inputsDigest,
      grants,
      recipeDigest,
    });
    const grantTexts = grants.map(formatImageGrant);
    const dockerfile = renderGrantedDockerfile(grants, {
      "airlock.grants": JSON.stringify(grants),
      "airlock.capabilities": grantTexts.join(","),
      "airlock.base-image-id": agentBuilt.baseImage.id,
      "airlock.agent-inputs-digest": agentBuilt.inputsDigest,
      "airlock.agent-image-id": agentBuilt.image.id,
      "airlock.recipe-digest": recipeDigest,
    });
    await writeFile(join(contextDir, "Dockerfile"), dockerfile);
    // The tag names the inputs; the labels and the parent's exact id complete the content.
    const contentDigest = createHash("sha256")
      .update(`${ref}\0${dockerfile}\0${agentBuilt.image.id}`)
      .digest("hex");
    progress(`building ${ref} on ${agentBuilt.ref} (${agentBuilt.image.id}) with ${grantTexts.join(", ")}`);

    const tail: string[] = [];
    const log = watchRunSteps();
    let built: { image: ImageInfo; stepsRun: number };
    try {
      built = await buildCheckedImage(runtime, {
        contextDir,
        dockerfile: "Dockerfile",
        tags: [ref],
        buildArgs: {
          AGENT_IMAGE: agentBuilt.image.id,
          ...(pipIndexUrl ? { AIRLOCK_PIP_INDEX_URL: pipIndexUrl } : {}),
          ...(pipIndexUrl?.startsWith("http:")
            ? { AIRLOCK_PIP_TRUSTED_HOST: new URL(pipIndexUrl).host }
            : {}),
        },
        // apt (and pip) fetch in the build; npm was fetched on the host.
        network: grants.some((g) => g.kind !== "npm"),
        noCache: options.noCache ?? false,
        contentDigest,
        onProgress: (line) => {
          tail.push(line);
          if (tail.length > logTailLines) tail.shift();
          log.see(line);
          progress(line);
        },
      });
    } catch (error) {
      throw new GrantedImageBuildError(
        `building ${options.agent.id}'s image with ${grantTexts.join(", ")} failed: ${(error as Error).message}`,
        { logTail: [...tail], grants: grantTexts, cause: error },
      );
    }
    // When every RUN step ran, their own output holds the delta; after a (partial) cache
    // hit, it is read from the file they wrote in the image.
    const added = !grants.some((g) => g.kind !== "npm")
      ? { dpkg: [], pip: [] }
      : log.everyRunStepRan()
        ? parseAddedPackages(log.added.join("\n"), `the build output of ${ref}`)
        : await readAddedPackages(runtime, options.logger, built.image.id);
    return {
      ref,
      image: built.image,
      agentImage: { ref: agentBuilt.ref, id: agentBuilt.image.id },
      baseImageId: agentBuilt.baseImage.id,
      agentInputsDigest: agentBuilt.inputsDigest,
      recipeDigest,
      grants,
      sbomDelta: { dpkg: added.dpkg, npm: npmTree, pip: added.pip },
      stepsRun: built.stepsRun,
      durationMs: Date.now() - started,
    };
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
}

/** Follows the classic builder's output: which RUN steps ran, and the lines they marked. */
function watchRunSteps() {
  const runSteps: boolean[] = [];
  let inRunStep = false;
  const added: string[] = [];
  const markerPrefix = `${addedMarker}\t`;
  return {
    added,
    see(line: string): void {
      if (/^Step \d+\/\d+ : /.test(line)) {
        inRunStep = /^Step \d+\/\d+ : RUN /.test(line);
        if (inRunStep) runSteps.push(false);
      } else if (inRunStep && /^ ---> Running in /.test(line)) {
        runSteps[runSteps.length - 1] = true;
      } else if (line.startsWith(markerPrefix)) {
        added.push(line.slice(markerPrefix.length));
      }
    },
    everyRunStepRan: () => runSteps.length > 0 && runSteps.every(Boolean),
  };
}

function parseGrantValue(value: unknown): ImageGrant {
  const parsed = imageGrantSchema.safeParse(value);
  if (!parsed.success) {
    throw new ImageBuildError(
      `not an image grant (${JSON.stringify(value)}): ${parsed.error.issues.map((i) => i.message).join("; ")}`,
    );
  }
  return parsed.data;
}

/**
 * The index is passed to the build as an ARG, which `docker history` shows: a URL with
 * credentials would leave them in the image's metadata, so it is refused.
 */
function checkPipIndexUrl(value: string | undefined): string {
  if (value === undefined || value.trim() === "") {
    throw new ImageBuildError(
      "pip grants need AIRLOCK_PIP_INDEX_URL: set it to the simple index pip should install from " +
        "(e.g. https://pypi.example.internal/simple), reachable from Docker's build network",
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new ImageBuildError(`AIRLOCK_PIP_INDEX_URL "${value}" is not a URL`, { cause: error });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ImageBuildError(`AIRLOCK_PIP_INDEX_URL must be an http(s) URL, got ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ImageBuildError(
      "AIRLOCK_PIP_INDEX_URL must not hold credentials: the build argument is kept in the image's history; " +
        "use an index that the build network may read without them",
    );
  }
  return url.toString();
}
