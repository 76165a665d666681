import type { ContainerRuntime, ImageInfo } from "../container/container-runtime.ts";
import { baseImageRef, locateAgentImagesDir } from "./base-image-ref.ts";
import { buildBaseImage, type BuildBaseImageOptions } from "./build-base-image.ts";

/**
 * The base image, built only when `airlock/base:<VERSION>` is missing. It does not
 * check that an existing image is current: `airlock images build` does that.
 */
export async function ensureBaseImage(
  runtime: ContainerRuntime,
  options: BuildBaseImageOptions = {},
): Promise<ImageInfo> {
  const existing = await runtime.inspectImage(baseImageRef(options.imagesDir ?? locateAgentImagesDir()));
  if (existing) return existing;
  return (await buildBaseImage(runtime, options)).image;
}
