import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { agentCatalog } from "../../../core/agents/agent-catalog.ts";
import { parseRepoConfig } from "../../../core/repo-config/parse-repo-config.ts";

const agentIds = agentCatalog.map((agent) => agent.id);

// Issue 12: the agent CLIs are agents a repository may list, by the catalog's ids.
describe(".github/airlock.yml naming the agent CLIs", () => {
  it("accepts claude-code and codex, and a default among them", () => {
    const result = parseRepoConfig(
      "agents: [claude-code, codex]\ndefault_agent: codex\nmodel: claude-sonnet-4-5\n",
      { agentIds },
    );
    assert.equal(result.ok, true, JSON.stringify(result));
    if (!result.ok) return;
    assert.deepEqual(result.config.agents, ["claude-code", "codex"]);
    assert.equal(result.config.defaultAgent, "codex");
  });

  it("still refuses an id the catalog does not have, listing the ones it has", () => {
    const result = parseRepoConfig("agents: [claude]\n", { agentIds });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.problems.map((p) => `${p.key}: ${p.message}`),
      ["agents[0]: is not an agent this Airlock runs; allowed: builtin, claude-code, codex, openclaw"],
    );
  });
});
