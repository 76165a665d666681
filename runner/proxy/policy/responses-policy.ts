import type { EndpointPolicy } from "./endpoint-policy.ts";
import {
  blocksReferring,
  fieldWhere,
  isRecord,
  presentValue,
  toolsNotRunByClient,
} from "./policy-matchers.ts";
import { openAiServiceTierRule } from "./openai-service-tier-rule.ts";

/**
 * Responses tool types the client executes: the model only asks, the agent acts inside
 * the sandbox. `shell` also exists as a provider-hosted container; only its local form
 * (no environment, or `environment.type: "local"`) passes.
 */
const clientToolTypes = new Set(["function", "custom", "local_shell", "apply_patch", "computer_use_preview"]);

function isClientTool(tool: Record<string, unknown>): boolean {
  if (typeof tool.type !== "string") return false;
  if (clientToolTypes.has(tool.type)) return true;
  if (tool.type !== "shell") return false;
  return tool.environment === undefined || (isRecord(tool.environment) && tool.environment.type === "local");
}

/** `POST /v1/responses` (OpenAI format; Codex, OpenClaw's `openai-responses`). */
export const responsesPolicy: EndpointPolicy = {
  route: "POST /v1/responses",
  refused: [
    {
      field:
        "tools[].type other than function, custom, local_shell, apply_patch, computer_use_preview, shell (local)",
      grant: "<the type>",
      why: "hosted tools (web_search, file_search, code_interpreter, image_generation, mcp and connectors, hosted shell containers) run at the provider: they reach outside the sandbox and their fees are not metered",
      find: toolsNotRunByClient(isClientTool),
    },
    {
      field: "background: true",
      grant: "background",
      why: "a queued response answers with usage: null, so the call could not be metered",
      find: fieldWhere("background", "background", (v) => (v === false ? undefined : JSON.stringify(v))),
    },
    {
      field: "previous_response_id, conversation, input[] item_reference",
      grant: "stored_responses",
      why: "state stored with the provider, outside this run: it may belong to another run",
      find: (body) => [
        ...fieldWhere("previous_response_id", "stored_responses", presentValue)(body),
        ...fieldWhere("conversation", "stored_responses", presentValue)(body),
        ...blocksReferring(
          ["input"],
          "stored",
          "stored_responses",
        )(body).filter((m) => m.value.startsWith("item_reference")),
      ],
    },
    {
      field: "prompt (a stored prompt template)",
      grant: "stored_prompts",
      why: "a prompt stored with the provider, outside this run and its record",
      find: fieldWhere("prompt", "stored_prompts", presentValue),
    },
    {
      field: "input[]…file_id (input_file, input_image)",
      grant: "files",
      why: "a file stored with the provider, outside this run: it may belong to another run",
      find: (body) =>
        blocksReferring(
          ["input"],
          "stored",
          "files",
        )(body).filter((m) => !m.value.startsWith("item_reference")),
    },
    {
      field: "input[]…image_url / file_url not a data: URL",
      grant: "url_inputs",
      why: "the provider fetches the URL: a request to any host, with whatever the URL carries",
      find: blocksReferring(["input"], "remote", "url_inputs"),
    },
    openAiServiceTierRule,
  ],
  passes: [
    "model (if the run may call it)",
    "input: text, data: images, inline file_data, function_call / function_call_output / reasoning items",
    "instructions, tools of the client-run types above, tool_choice, parallel_tool_calls, max_tool_calls",
    "max_output_tokens (lowered to what the budget allows; added when absent)",
    "reasoning, include, text, store (false or true), stream, truncation, context_management",
    "temperature, top_p, top_logprobs, metadata, user, safety_identifier, prompt_cache_key, prompt_cache_retention, client_metadata",
  ],
};
