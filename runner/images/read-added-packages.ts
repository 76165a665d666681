import { Writable } from "node:stream";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { runSandboxed } from "../sandbox/run-sandboxed.ts";
import { ImageBuildError } from "./image-build-error.ts";
import { addedPackagesFile } from "./render-granted-dockerfile.ts";

export interface AddedPackage {
  name: string;
  version: string;
}

const maxBytes = 1024 * 1024;

/**
 * The dpkg and pip packages a granted image's build recorded in added-packages.tsv, read
 * with `cat` in a sealed sandbox of that image (no network, read-only, as 1001): the file
 * is in the image, so a cache hit gives the same answer as the build that wrote it.
 */
export async function readAddedPackages(
  runtime: ContainerRuntime,
  logger: Logger,
  imageId: string,
): Promise<{ dpkg: AddedPackage[]; pip: AddedPackage[] }> {
  const chunks: Buffer[] = [];
  const errors: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(chunk);
        done();
      },
    });
  const result = await runSandboxed({
    runtime,
    logger,
    image: imageId,
    argv: ["cat", addedPackagesFile],
    limits: { memoryMb: 64, cpus: 0.5, pids: 16, timeoutS: 60, outputCapBytes: maxBytes },
    ceiling: { memoryMb: 64, cpus: 0.5, pids: 16, timeoutS: 60, outputCapBytes: maxBytes },
    runId: "image-sbom",
    runnerId: "image-builder",
    stdout: sink(chunks),
    stderr: sink(errors),
  });
  if (result.reason !== "exited" || result.exitCode !== 0) {
    throw new ImageBuildError(
      `could not read ${addedPackagesFile} from ${imageId} (${result.reason}, exit ${String(result.exitCode)}): ` +
        Buffer.concat(errors).toString("utf8").trim().slice(0, 500),
    );
  }
  return parseAddedPackages(Buffer.concat(chunks).toString("utf8"), `${addedPackagesFile} in ${imageId}`);
}

/** `<dpkg|pip>\t<name>\t<version>` lines; anything else is refused, naming `source`. */
export function parseAddedPackages(
  text: string,
  source: string,
): { dpkg: AddedPackage[]; pip: AddedPackage[] } {
  const added = { dpkg: [] as AddedPackage[], pip: [] as AddedPackage[] };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [kind, name, version, ...extra] = line.split("\t");
    if ((kind !== "dpkg" && kind !== "pip") || !name || !version || extra.length > 0) {
      throw new ImageBuildError(
        `${source} has a line that is not "<dpkg|pip>\\t<name>\\t<version>": ${line.slice(0, 200)}`,
      );
    }
    added[kind].push({ name, version });
  }
  return added;
}
