import type { BuildImageOptions, ContainerRuntime, ImageInfo } from "../container/container-runtime.ts";
import { ImageBuildError } from "./image-build-error.ts";

/**
 * Build an image whose Dockerfile records `CONTENT_DIGEST` as its `airlock.content-digest`
 * label, count the steps that did not come from the cache, and check the label on what the
 * tag names afterwards: a concurrent build may have moved the tag in between.
 */
export async function buildCheckedImage(
  runtime: ContainerRuntime,
  options: Omit<BuildImageOptions, "onProgress"> & {
    contentDigest: string;
    onProgress: (line: string) => void;
  },
): Promise<{ image: ImageInfo; stepsRun: number }> {
  const { contentDigest, onProgress, ...build } = options;
  let stepsRun = 0;
  const image = await runtime.buildImage({
    ...build,
    buildArgs: { ...build.buildArgs, CONTENT_DIGEST: contentDigest },
    onProgress: (line) => {
      if (/^ ---> Running in /.test(line)) stepsRun += 1;
      onProgress(line);
    },
  });
  const ref = build.tags[0];
  if (image.labels["airlock.content-digest"] !== contentDigest) {
    throw new ImageBuildError(
      `built ${ref} but its airlock.content-digest label is ${image.labels["airlock.content-digest"] ?? "missing"}, ` +
        `expected ${contentDigest}; was ${ref} re-tagged by another build at the same time? Run the build again.`,
    );
  }
  return { image, stepsRun };
}
