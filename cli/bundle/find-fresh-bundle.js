// Plain JavaScript, not TypeScript: bin/airlock.js runs this before anything else, and the
// first .ts file a process loads starts Node's type stripper, which the bundle avoids.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The bundled entry `<bundleDir>/<entryName>.js` as a URL, when the bundle in bundleDir
 * (cli/bundle/bundle-cli.ts) was built from exactly the files now on disk: each input the
 * entry's code came from (for a package: its package.json) still has its size and mtime,
 * and each of its output files is there. Anything else (no bundle, an edited or
 * checked-out source, an `npm install` since, a manifest it cannot read) gives undefined,
 * and the caller runs the sources, as a fresh clone does.
 *
 * @param {URL} bundleDir a folder URL, ending in "/"
 * @param {string} entryName
 * @returns {URL | undefined}
 */
export function findFreshBundle(bundleDir, entryName) {
  const dir = fileURLToPath(bundleDir);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  } catch {
    return undefined;
  }
  const files = Object.hasOwn(manifest?.entries ?? {}, entryName) ? manifest.entries[entryName] : undefined;
  if (!Array.isArray(files?.inputs) || !Array.isArray(files.outputs)) return undefined;
  for (const output of files.outputs) {
    if (typeof output !== "string" || !statSync(join(dir, output), { throwIfNoEntry: false })) {
      return undefined;
    }
  }
  for (const input of files.inputs) {
    if (!Array.isArray(input) || typeof input[0] !== "string") return undefined;
    const info = statSync(join(dir, input[0]), { throwIfNoEntry: false });
    if (info === undefined || info.size !== input[1] || info.mtimeMs !== input[2]) return undefined;
  }
  return new URL(`${entryName}.js`, bundleDir);
}
