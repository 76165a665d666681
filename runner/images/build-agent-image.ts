import { createHash } from "node:crypto";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { ContainerRuntime, ImageInfo } from "../container/container-runtime.ts";
import { computeAgentImageTag } from "./agent-image-tag.ts";
import { assertEngineReachable } from "./assert-engine-reachable.ts";
import { baseImageRef, locateAgentImagesDir } from "./base-image-ref.ts";
import { buildBaseImage } from "./build-base-image.ts";
import { buildCheckedImage } from "./build-checked-image.ts";
import { prepareAgentContext } from "./prepare-agent-context.ts";

export interface BuildAgentImageOptions {
  agent: AgentDefinition;
  /** Default: this checkout's `agent-images/`. */
  imagesDir?: string;
  noCache?: boolean;
  onProgress?: (line: string) => void;
  npmCommand?: string;
}

export interface BuiltAgentImage {
  /** `airlock/<agent>:<sha256 of the base image id and the capabilities>` (DESIGN §6). */
  ref: string;
  /** `airlock/<agent>:latest`, a convenience for operators; runs use `ref`. */
  latestRef: string;
  image: ImageInfo;
  /** The base image it was built on. */
  baseImage: ImageInfo;
  /** True when the base image was missing and built first. */
  builtBase: boolean;
  /** Build steps the engine ran instead of taking from its cache (0: nothing changed). */
  stepsRun: number;
  durationMs: number;
  /** sha256 (hex) of the agent's build inputs; part of a granted image's tag. */
  inputsDigest: string;
}

/**
 * Builds an agent's image on top of `airlock/base:<VERSION>` with the engine's layer cache.
 *
 * 1. the engine answers; the base image is there (built first when missing);
 * 2. the agent's context is prepared (npm packages fetched on the host, checked);
 * 3. the image is built with no network (nothing in it is fetched) and tagged with the
 *    content tag and `latest`; its content label is checked.
 */
export async function buildAgentImage(
  runtime: ContainerRuntime,
  options: BuildAgentImageOptions,
): Promise<BuiltAgentImage> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const imagesDir = options.imagesDir ?? locateAgentImagesDir();
  const { agent } = options;

  await assertEngineReachable(runtime);
  const baseRef = baseImageRef(imagesDir);
  let baseImage = await runtime.inspectImage(baseRef);
  let builtBase = false;
  if (!baseImage) {
    progress(`${baseRef} is missing; building it first`);
    baseImage = (
      await buildBaseImage(runtime, {
        imagesDir,
        onProgress: progress,
        ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
      })
    ).image;
    builtBase = true;
  }

  const context = await prepareAgentContext({
    imagesDir,
    agent,
    onProgress: progress,
    ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
  });
  const ref = computeAgentImageTag(agent.id, baseImage.id, []);
  const latestRef = `${agent.image.repository}:latest`;
  const contentDigest = createHash("sha256")
    .update(`${context.inputsDigest}\0${baseImage.id}\0${context.version}`)
    .digest("hex");
  progress(`building ${ref} from ${baseRef} (${baseImage.id})${options.noCache ? " without cache" : ""}`);

  const { image, stepsRun } = await buildCheckedImage(runtime, {
    contextDir: context.contextDir,
    dockerfile: context.dockerfile,
    tags: [ref, latestRef],
    buildArgs: {
      ...context.packageBuildArgs,
      // The id, not the tag: the content tag is computed from this id, so the image must
      // be built on exactly it even if the base tag moves during the build.
      BASE_IMAGE: baseImage.id,
      BASE_IMAGE_REF: baseRef,
      IMAGE_VERSION: context.version,
    },
    network: false,
    noCache: options.noCache ?? false,
    contentDigest,
    onProgress: progress,
  });
  return {
    ref,
    latestRef,
    image,
    baseImage,
    builtBase,
    stepsRun,
    durationMs: Date.now() - started,
    inputsDigest: context.inputsDigest,
  };
}
