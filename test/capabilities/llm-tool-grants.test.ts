import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { grantableLlmTools, isGrantableLlmTool } from "../../core/capabilities/llm-tool-grants.ts";
import { endpointPolicies } from "../../runner/proxy/policy/endpoint-policies.ts";

// Hosted tool types the providers document, in the dated forms agents send.
const hostedToolTypes = [
  "web_search_20250305",
  "web_fetch_20250910",
  "code_execution_20250825",
  "mcp_toolset",
  "tool_search_tool_regex_20251119",
  "tool_search_tool_bm25_20251119",
  "web_search_preview_2025_03_11",
  "web_search",
  "file_search",
  "code_interpreter",
  "image_generation",
  "mcp",
  "shell",
];

describe("llm-tool grants", () => {
  it("list every grant the proxy's policy tables name, so an agent can ask for what it was refused", () => {
    const named = new Set<string>();
    for (const policy of Object.values(endpointPolicies)) {
      for (const rule of policy.refused) if (!rule.grant.startsWith("<")) named.add(rule.grant);
    }
    assert.ok(named.size >= 10, `policy tables name ${named.size} grants`);
    for (const grant of named) assert.ok(isGrantableLlmTool(grant), `${grant} is not grantable`);
  });

  it("list the grant of every hosted tool type the policy refuses", () => {
    for (const policy of Object.values(endpointPolicies)) {
      const toolRule = policy.refused.find((rule) => rule.grant.startsWith("<"));
      if (!toolRule) continue;
      for (const type of hostedToolTypes) {
        const found = toolRule.find({ tools: [{ type }] });
        // A type the endpoint runs at the client is not refused and needs no grant.
        for (const match of found) {
          assert.ok(isGrantableLlmTool(match.grant), `${policy.route}: ${type} asks for ${match.grant}`);
        }
      }
    }
  });

  it("are sorted, and each says what it reaches and costs", () => {
    assert.deepEqual(grantableLlmTools, [...grantableLlmTools].sort());
    assert.ok(!isGrantableLlmTool("constructor"));
  });
});
