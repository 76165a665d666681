import { UsageError } from "../errors.ts";
import { agentCatalog } from "./agent-catalog.ts";
import type { AgentDefinition } from "./agent-definition.ts";

/** The catalog entry for `id`; an unknown id is the operator's (or the issue label's) mistake. */
export function getAgent(id: string, catalog: readonly AgentDefinition[] = agentCatalog): AgentDefinition {
  const agent = catalog.find((entry) => entry.id === id);
  if (agent) return agent;
  const known = catalog.map((entry) => entry.id).join(", ");
  throw new UsageError(`unknown agent "${id}"; known agents: ${known} (see \`airlock agents\`)`);
}
