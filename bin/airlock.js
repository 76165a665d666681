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
const { main } = await import(process.argv[2] === "sandbox" ? "../cli/sandbox-main.ts" : "../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
