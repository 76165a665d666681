// Puts what the root Dockerfile copies into .context/ (Node, the production dependencies),
// so that `docker compose build` needs no registry inside the build.
//   node scripts/prepare-airlock-image.ts
import { fileURLToPath } from "node:url";
import { prepareAirlockContext } from "../runner/images/prepare-airlock-context.ts";

const rootDir = fileURLToPath(new URL("..", import.meta.url));
const context = await prepareAirlockContext({ rootDir, onProgress: (line) => console.log(line) });
console.log(`${context.contextDir} is ready (node ${context.node.version})`);
