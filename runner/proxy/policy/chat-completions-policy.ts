import type { EndpointPolicy } from "./endpoint-policy.ts";
import { blocksReferring, fieldWhere, presentValue, toolsNotRunByClient } from "./policy-matchers.ts";
import { openAiServiceTierRule } from "./openai-service-tier-rule.ts";

/** `POST /v1/chat/completions` (OpenAI format; opencode, OpenClaw's `openai-completions`). */
export const chatCompletionsPolicy: EndpointPolicy = {
  route: "POST /v1/chat/completions",
  refused: [
    {
      field: "tools[].type other than function, custom",
      grant: "<the type>",
      why: "a tool type the client does not run is one the provider runs: it reaches outside the sandbox and its fees are not metered",
      find: toolsNotRunByClient((tool) => tool.type === "function" || tool.type === "custom"),
    },
    {
      field: "web_search_options",
      grant: "web_search",
      why: "the provider searches the web for the agent: a query can carry the repository out, and search fees are not metered",
      find: fieldWhere("web_search_options", "web_search", presentValue),
    },
    {
      field: "messages[]…file.file_id",
      grant: "files",
      why: "a file stored with the provider, outside this run: it may belong to another run",
      find: blocksReferring(["messages"], "stored", "files"),
    },
    {
      field: "messages[]…image_url.url not a data: URL",
      grant: "url_inputs",
      why: "the provider fetches the URL: a request to any host, with whatever the URL carries",
      find: blocksReferring(["messages"], "remote", "url_inputs"),
    },
    {
      field: "audio, modalities containing audio",
      grant: "audio",
      why: "audio tokens are priced apart from the price table: the budget would not bind",
      find: (body) => [
        ...fieldWhere("audio", "audio", presentValue)(body),
        ...fieldWhere("modalities", "audio", (v) =>
          Array.isArray(v) && v.includes("audio") ? "audio" : undefined,
        )(body),
      ],
    },
    openAiServiceTierRule,
  ],
  passes: [
    "model (if the run may call it)",
    "messages: text, data: image URLs, input_audio, inline file_data",
    "tools of type function or custom, tool_choice, parallel_tool_calls",
    "max_tokens / max_completion_tokens (lowered to what the budget allows; max_completion_tokens added when absent)",
    "stream, stream_options (include_usage added and hidden again)",
    "temperature, top_p, n, stop, seed, response_format, logprobs, top_logprobs, logit_bias, presence_penalty, frequency_penalty",
    "reasoning_effort, verbosity, prediction, store, metadata, user, safety_identifier, prompt_cache_key",
  ],
};
