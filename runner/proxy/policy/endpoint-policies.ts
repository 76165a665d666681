import { chatCompletionsPolicy } from "./chat-completions-policy.ts";
import type { EndpointPolicy } from "./endpoint-policy.ts";
import { countTokensPolicy, messagesPolicy } from "./messages-policy.ts";
import { modelsPolicy } from "./models-policy.ts";
import { responsesPolicy } from "./responses-policy.ts";

/** Every endpoint the proxy serves, by route; the README table is written from these. */
export const endpointPolicies: Readonly<Record<string, EndpointPolicy>> = {
  [chatCompletionsPolicy.route]: chatCompletionsPolicy,
  [responsesPolicy.route]: responsesPolicy,
  [messagesPolicy.route]: messagesPolicy,
  [countTokensPolicy.route]: countTokensPolicy,
  [modelsPolicy.route]: modelsPolicy,
};
