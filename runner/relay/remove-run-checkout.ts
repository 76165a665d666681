import { readFile, rm } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { RelayError } from "./relay-error.ts";
import { runCheckoutMarker } from "./prepare-run-checkout.ts";

/**
 * Deletes a run's folder (host clone and workspace). Call only after the relay and the
 * push are done. Refuses a folder prepareRunCheckout did not make, so a wrong argument
 * cannot delete anything else. fs.rm unlinks symlinks rather than following them.
 */
export async function removeRunCheckout(baseDir: string): Promise<void> {
  if (!isAbsolute(baseDir) || resolve(baseDir) === "/") {
    throw new RelayError(`Refusing to remove "${baseDir}": expected the absolute path of a run folder.`);
  }
  const marker = await readFile(join(baseDir, runCheckoutMarker), "utf8").catch(() => undefined);
  if (marker === undefined) {
    throw new RelayError(
      `Refusing to remove ${baseDir}: it has no ${runCheckoutMarker} file, so it is not a run folder.`,
    );
  }
  await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
}
