import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleAction } from "./bundle-action.ts";

// `npm run build:action`: rewrites the committed action/dist/ from action/src/.
const outDir = join(dirname(fileURLToPath(import.meta.url)), "dist");
const { bytes } = await bundleAction(outDir);
console.log(`action/dist/index.js: ${(bytes / 1024).toFixed(1)} KiB`);
