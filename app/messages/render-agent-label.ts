/** The label that hands an issue to an agent, created on installation for each allowed agent. */
export function renderAgentLabel(agent: string): { name: string; color: string; description: string } {
  return {
    name: `airlock:${agent}`,
    color: "5319e7",
    description: `Hand this issue to the ${agent} agent (Airlock)`,
  };
}
