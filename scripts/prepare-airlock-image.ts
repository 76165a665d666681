// Puts what the root Dockerfile copies into the build context, fetched on the host: Node,
// the named agents' pinned packages (default: builtin) and the production dependencies,
// so that `docker compose build` needs no registry inside the build.
//   node scripts/prepare-airlock-image.ts [agent…]
import { fileURLToPath } from "node:url";
import { getAgent } from "../core/agents/get-agent.ts";
import { prepareAirlockContext } from "../runner/images/prepare-airlock-context.ts";

const rootDir = fileURLToPath(new URL("..", import.meta.url));
const ids = process.argv.slice(2);
const agents = (ids.length > 0 ? ids : ["builtin"]).map((id) => getAgent(id));
const context = await prepareAirlockContext({ rootDir, agents, onProgress: (line) => console.log(line) });
console.log(
  `ready: node ${context.node.version}, agents ${agents.map((a) => a.id).join(", ")}, dependencies in ${context.contextDir}/deps`,
);
