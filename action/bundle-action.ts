import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Bundles action/src/main.ts, with the toolkit and the runner code it imports, into
 * `<outDir>/index.js` (ESM, for `runs.using: node24`) and a package.json marking it as a
 * module. The same call writes the committed action/dist/ and the copy the staleness test
 * compares it with, so the two can differ only when a source changed.
 */
export async function bundleAction(outDir: string): Promise<{ bytes: number }> {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: ["action/src/main.ts"],
    outfile: join(outDir, "index.js"),
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    // Bundled CommonJS packages call require() for node's modules; ESM has none by itself.
    banner: {
      js: 'import { createRequire as __airlockRequire } from "node:module"; const require = __airlockRequire(import.meta.url);',
    },
    legalComments: "eof",
    logLevel: "warning",
    metafile: true,
  });
  await writeFile(join(outDir, "package.json"), `${JSON.stringify({ type: "module" }, null, 2)}\n`);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, out) => sum + out.bytes, 0);
  return { bytes };
}
