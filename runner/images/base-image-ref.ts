import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { ImageBuildError } from "./image-build-error.ts";

/** The repository of the base image; agent images are `airlock/<agent>`. */
export const BASE_IMAGE_REPOSITORY = "airlock/base";

/** `agent-images/` of this checkout, found from this file rather than the working directory. */
export function locateAgentImagesDir(): string {
  return fileURLToPath(new URL("../../agent-images/", import.meta.url));
}

/** The base image's version from `agent-images/base/VERSION`, e.g. `0.1.0`. */
export function readBaseImageVersion(imagesDir: string = locateAgentImagesDir()): string {
  const path = join(imagesDir, "base", "VERSION");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ImageBuildError(`cannot read the base image's version from ${path}`, { cause: error });
  }
  const version = text.trim();
  // It becomes a Docker tag: keep it to what a tag allows.
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$/.test(version)) {
    throw new ImageBuildError(`${path} must hold a version such as 0.1.0, found "${version}"`);
  }
  return version;
}

/** The default sandbox image: `airlock/base:<VERSION>`, e.g. `airlock/base:0.1.0`. */
export function baseImageRef(imagesDir: string = locateAgentImagesDir()): string {
  return `${BASE_IMAGE_REPOSITORY}:${readBaseImageVersion(imagesDir)}`;
}
