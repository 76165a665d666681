#!/usr/bin/env node
// Airlock's command line. Sources are TypeScript run by Node's type stripping (Node >= 22.18).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `airlock needs Node.js 22.18 or newer (this is ${process.version}).\n` +
      "Run it through npm (npm exec airlock, npm run airlock), which uses the Node that `npm ci` installed, or install a newer Node.\n",
  );
  process.exit(2);
}
// Cache compiled code between runs (start-up is part of every `sandbox exec`).
(await import("node:module")).enableCompileCache?.();
// `airlock sandbox …` loads only its own command: see cli/sandbox-main.ts.
const entry = process.argv[2] === "sandbox" ? "sandbox-main" : "main";
// The bundle `npm ci` builds (npm run build:cli), while it matches the sources; else the
// sources. AIRLOCK_CLI_FROM_SOURCE=1 always runs the sources.
const { findFreshBundle } = await import("../cli/bundle/find-fresh-bundle.js");
const bundled =
  process.env.AIRLOCK_CLI_FROM_SOURCE === "1"
    ? undefined
    : findFreshBundle(new URL("../.build/cli/", import.meta.url), entry);
const { main } = await import(bundled?.href ?? `../cli/${entry}.ts`);
process.exitCode = await main(process.argv.slice(2));
