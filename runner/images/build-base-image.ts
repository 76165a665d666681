import { createHash } from "node:crypto";
import type { ContainerRuntime, ImageInfo } from "../container/container-runtime.ts";
import { BASE_IMAGE_REPOSITORY, locateAgentImagesDir, readBaseImageVersion } from "./base-image-ref.ts";
import { assertEngineReachable } from "./assert-engine-reachable.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { buildCheckedImage } from "./build-checked-image.ts";
import { prepareBaseContext } from "./prepare-base-context.ts";

export interface BuildBaseImageOptions {
  /** Default: this checkout's `agent-images/`. */
  imagesDir?: string;
  /** The image to build FROM; default the Dockerfile's `ARG BASE_IMAGE`. */
  baseImage?: string;
  noCache?: boolean;
  onProgress?: (line: string) => void;
  npmCommand?: string;
}

export interface BuiltImage {
  /** `airlock/base:<VERSION>` */
  ref: string;
  /** `airlock/base:<sha256 of the inputs and the base image id>` */
  contentRef: string;
  image: ImageInfo;
  /** Build steps the engine ran instead of taking from its cache (0: nothing changed). */
  stepsRun: number;
  durationMs: number;
}

/**
 * Builds `airlock/base:<VERSION>` (plus a content tag) with the engine's layer cache:
 * with nothing changed, every step is a cache hit and the image id stays the same.
 *
 * 1. the engine answers and the base image is present (no silent pull);
 * 2. the build context is prepared (Node fetched on the host, checked);
 * 3. the image is built and both tags are set.
 */
export async function buildBaseImage(
  runtime: ContainerRuntime,
  options: BuildBaseImageOptions = {},
): Promise<BuiltImage> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const imagesDir = options.imagesDir ?? locateAgentImagesDir();
  const version = readBaseImageVersion(imagesDir);

  await assertEngineReachable(runtime);
  const context = await prepareBaseContext({
    imagesDir,
    onProgress: progress,
    ...(options.npmCommand ? { npmCommand: options.npmCommand } : {}),
  });
  const baseImage = options.baseImage ?? context.defaultBaseImage;
  const base = await runtime.inspectImage(baseImage);
  if (!base) {
    throw new ImageBuildError(
      `the base image ${baseImage} is not present in Docker. Pull it (docker pull ${baseImage}) or, ` +
        `without a registry, build it from Debian with scripts/build-offline-base.sh ${baseImage}`,
    );
  }

  const contentDigest = createHash("sha256")
    .update(`${context.inputsDigest}\0${base.id}\0${baseImage}\0${version}`)
    .digest("hex");
  const ref = `${BASE_IMAGE_REPOSITORY}:${version}`;
  const contentRef = `${BASE_IMAGE_REPOSITORY}:${contentDigest}`;
  progress(
    `building ${ref} from ${baseImage} (node ${context.node.version})${options.noCache ? " without cache" : ""}`,
  );

  const { image, stepsRun } = await buildCheckedImage(runtime, {
    contextDir: context.contextDir,
    dockerfile: context.dockerfile,
    tags: [ref, contentRef],
    buildArgs: {
      BASE_IMAGE: baseImage,
      NODE_VERSION: context.node.version,
      IMAGE_VERSION: version,
    },
    noCache: options.noCache ?? false,
    contentDigest,
    onProgress: progress,
  });
  return { ref, contentRef, image, stepsRun, durationMs: Date.now() - started };
}
