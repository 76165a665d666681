import { rename, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { bundleCli as BundleCli } from "./bundle-cli.ts";

// `npm run build:cli`, and npm's `prepare` (after `npm ci` / `npm install`): bundles the
// CLI into .build/cli/, which bin/airlock.js uses while its sources are unchanged. Built
// beside it and moved in, so a CLI starting meanwhile sees the old bundle or none.
// Without esbuild (a production install, `--omit=dev`) there is nothing to do: the CLI
// runs its sources.
const outDir = fileURLToPath(new URL("../../.build/cli", import.meta.url));
let bundleCli: typeof BundleCli;
try {
  ({ bundleCli } = await import("./bundle-cli.ts"));
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw error;
  console.log("airlock: esbuild is not installed; the CLI runs from its sources (no bundle built)");
  process.exit(0);
}
const staging = `${outDir}.${process.pid}`;
const { bytes, inputs } = await bundleCli(staging).catch(async (error: unknown) => {
  await rm(staging, { recursive: true, force: true });
  throw error;
});
await rm(outDir, { recursive: true, force: true });
await rename(staging, outDir);
console.log(`.build/cli: ${(bytes / 1024).toFixed(0)} KiB from ${inputs} files`);
