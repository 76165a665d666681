import type { EndpointPolicy, RefusalRule } from "./endpoint-policy.ts";
import {
  blocksReferring,
  fieldWhere,
  presentValue,
  toolsNotRunByClient,
  valueOutside,
} from "./policy-matchers.ts";

/**
 * Anthropic tools the client executes: custom tools (no type, or `custom`) and the
 * Anthropic-defined client tools, whose actions the agent performs inside the sandbox.
 * Server tools (web_search_*, web_fetch_*, code_execution_*, mcp_toolset, tool_search_*…)
 * do not match and are refused.
 */
const clientToolType = /^(bash|text_editor|computer|memory)_\d{8}$/;

export function isAnthropicClientTool(tool: Record<string, unknown>): boolean {
  return (
    tool.type === undefined ||
    tool.type === "custom" ||
    (typeof tool.type === "string" && clientToolType.test(tool.type))
  );
}

/** Rules shared by /v1/messages and /v1/messages/count_tokens: both make the provider reach out. */
export const anthropicReachRules: readonly RefusalRule[] = [
  {
    field: "mcp_servers",
    grant: "mcp",
    why: "the provider connects to the listed MCP servers: any URL, with whatever the agent sends",
    find: fieldWhere("mcp_servers", "mcp", presentValue),
  },
  {
    field: "container",
    grant: "code_execution",
    why: "a container the provider runs (code execution, skills), with its own files and network",
    find: fieldWhere("container", "code_execution", presentValue),
  },
  {
    field: "messages[]…source.type: file, file_id, container_upload",
    grant: "files",
    why: "a file stored with the provider, outside this run: it may belong to another run",
    find: blocksReferring(["messages", "system"], "stored", "files"),
  },
  {
    field: "messages[]…source.type: url",
    grant: "url_inputs",
    why: "the provider fetches the URL: a request to any host, with whatever the URL carries",
    find: blocksReferring(["messages", "system"], "remote", "url_inputs"),
  },
];

/** `POST /v1/messages` (Anthropic format; Claude Code, opencode, OpenClaw's `anthropic-messages`). */
export const messagesPolicy: EndpointPolicy = {
  route: "POST /v1/messages",
  refused: [
    {
      field:
        "tools[].type: a server tool (web_search_*, web_fetch_*, code_execution_*, mcp_toolset, tool_search_*, …)",
      grant: "<the type, undated>",
      why: "server tools run at the provider: they reach outside the sandbox and their fees are not metered",
      find: toolsNotRunByClient(isAnthropicClientTool),
    },
    ...anthropicReachRules,
    {
      field: "service_tier other than auto, standard_only",
      grant: "service_tier",
      why: "a tier the price table does not know: the budget would not bind",
      find: fieldWhere("service_tier", "service_tier", valueOutside(["auto", "standard_only"])),
    },
    {
      field: "speed other than standard",
      grant: "fast_mode",
      why: "fast mode is billed at a premium the price table does not know: the budget would not bind",
      find: fieldWhere("speed", "fast_mode", valueOutside(["standard"])),
    },
  ],
  passes: [
    "model (if the run may call it)",
    "messages: text, base64 / text / content-sourced images and documents, tool_use, tool_result, thinking, search_result",
    "system, custom tools and the client tools bash_*, text_editor_*, computer_*, memory_*, tool_choice",
    "max_tokens (lowered to what the budget allows; thinking.budget_tokens lowered below it when needed)",
    "thinking, context_management, output_config, metadata, stop_sequences, stream, temperature, top_k, top_p",
    "the ?beta=true query, anthropic-beta values that only shape generation",
  ],
};

/** `POST /v1/messages/count_tokens`: not billed, nothing runs; only what makes the provider reach out is refused. */
export const countTokensPolicy: EndpointPolicy = {
  route: "POST /v1/messages/count_tokens",
  refused: anthropicReachRules,
  passes: ["everything /v1/messages passes, and tool definitions of any type: counting runs no tool"],
};
