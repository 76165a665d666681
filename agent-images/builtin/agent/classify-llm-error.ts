import { APIConnectionError, APIError } from "openai";

/** Exit codes of the agent, documented in agent-images/builtin/README.md. */
export const agentExitCodes = {
  finished: 0,
  crashed: 1,
  apiError: 2,
  budgetExhausted: 3,
  maxSteps: 4,
  setup: 5,
  /** 128 + SIGTERM, as a shell reports a process ended by it. */
  stopped: 143,
} as const;

export interface LlmErrorClass {
  /** Worth another try after a pause (rate limits, server faults, lost connections). */
  retryable: boolean;
  budgetExhausted: boolean;
  /** One line for stderr: status and the server's own message, never the key. */
  message: string;
  /** Seconds the server asked us to wait, when it said. */
  retryAfterS: number | undefined;
}

/**
 * Sort an error from the chat call. A 429 is a budget stop (not a rate limit) when it
 * carries Airlock's proxy code `budget_exceeded` or OpenAI's `insufficient_quota`:
 * retrying those would only spend time, never get an answer.
 */
export function classifyLlmError(error: unknown): LlmErrorClass {
  if (error instanceof APIConnectionError) {
    return {
      retryable: true,
      budgetExhausted: false,
      message: `cannot reach the LLM endpoint: ${error.message}`,
      retryAfterS: undefined,
    };
  }
  if (error instanceof APIError) {
    const status = error.status;
    const budget =
      status === 429 && (error.code === "budget_exceeded" || error.type === "insufficient_quota");
    const retryAfter = Number(error.headers?.get("retry-after"));
    return {
      retryable: !budget && (status === 429 || status === undefined || status >= 500),
      budgetExhausted: budget,
      message: `LLM API error ${status ?? ""}${error.code ? ` (${error.code})` : ""}: ${error.message}`
        .replace(/\s+/g, " ")
        .slice(0, 1000),
      retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    };
  }
  return {
    retryable: false,
    budgetExhausted: false,
    message: `LLM call failed: ${(error as Error)?.message ?? String(error)}`,
    retryAfterS: undefined,
  };
}
