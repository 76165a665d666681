/**
 * The hosted tools and provider features a run may be granted as `llm-tool:<grant>`: the
 * grant names the LLM proxy's request policy asks for (runner/proxy/policy/, the `grant` of
 * each refusal rule, and hosted tool types by their undated name, canonicalToolType). It
 * lives in core/ because the request validator (core) and the proxy (runner) both read it;
 * test/capabilities/llm-tool-grants.test.ts checks that every grant the policy tables name is
 * listed here, so the two cannot drift apart.
 *
 * `reaches` and `costs` are what a maintainer reads before granting (issue 10 §3).
 */
export interface LlmToolGrant {
  /** What the provider does or reaches on the agent's behalf once granted. */
  reaches: string;
  /** What it costs beyond metered tokens. */
  costs: string;
}

export const llmToolGrants = {
  web_search: {
    reaches: "the provider searches the public web; queries can carry repository content out",
    costs: "a per-search fee the proxy does not meter (on top of tokens)",
  },
  web_fetch: {
    reaches: "the provider fetches any URL the model names, with whatever the URL carries",
    costs: "fetched content is billed as input tokens; no fee of its own",
  },
  file_search: {
    reaches: "vector stores kept with the provider, outside this run (they may hold other runs' files)",
    costs: "a per-call fee and vector storage the proxy does not meter",
  },
  code_interpreter: {
    reaches: "a container the provider runs, with its own files and outbound network",
    costs: "a per-container session fee the proxy does not meter",
  },
  code_execution: {
    reaches: "a container the provider runs (code execution, skills), with its own files and network",
    costs: "container hours the proxy does not meter",
  },
  image_generation: {
    reaches: "the provider's image model; nothing outside the provider",
    costs: "image output billed per image at rates the price table does not know",
  },
  shell: {
    reaches: "a hosted shell container at the provider, with its own network",
    costs: "container time the proxy does not meter",
  },
  mcp: {
    reaches: "any MCP server URL the request lists, contacted by the provider with whatever the agent sends",
    costs: "the remote server's own terms; tool output billed as tokens",
  },
  mcp_toolset: {
    reaches: "the MCP servers named in the request's mcp_servers, contacted by the provider",
    costs: "the remote server's own terms; tool output billed as tokens",
  },
  tool_search_tool_regex: {
    reaches: "the request's own tool definitions only (searched at the provider)",
    costs: "tokens only",
  },
  tool_search_tool_bm25: {
    reaches: "the request's own tool definitions only (searched at the provider)",
    costs: "tokens only",
  },
  files: {
    reaches: "files stored with the provider by file id, outside this run (they may belong to another run)",
    costs: "storage at the provider; file content billed as tokens",
  },
  url_inputs: {
    reaches: "any URL in an image or document block, fetched by the provider",
    costs: "fetched content billed as input tokens",
  },
  audio: {
    reaches: "nothing outside the provider",
    costs: "audio tokens priced apart from the price table: the budget would not bind",
  },
  service_tier: {
    reaches: "nothing outside the provider",
    costs: "priority or scale tiers bill above the price table: the budget would not bind",
  },
  fast_mode: {
    reaches: "nothing outside the provider",
    costs: "a premium the price table does not know: the budget would not bind",
  },
  background: {
    reaches: "a response queued and stored at the provider",
    costs: "the call answers with usage: null, so it cannot be metered",
  },
  stored_responses: {
    reaches: "responses and conversations stored with the provider, outside this run",
    costs: "the stored context is billed as input tokens",
  },
  stored_prompts: {
    reaches: "a prompt template stored with the provider, outside this run and its record",
    costs: "the template is billed as input tokens",
  },
} as const satisfies Record<string, LlmToolGrant>;

export type LlmToolGrantName = keyof typeof llmToolGrants;

export const grantableLlmTools = Object.keys(llmToolGrants).sort() as LlmToolGrantName[];

export function isGrantableLlmTool(name: string): name is LlmToolGrantName {
  return Object.hasOwn(llmToolGrants, name);
}
