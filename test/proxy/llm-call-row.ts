import type { NewLlmCall } from "../../core/db/schema.ts";

/**
 * The recorders' tests' call row number `n`: its latency and input tokens are `n`, so a
 * stored row says which one it was, and its body holds a token-like literal the redaction
 * must remove.
 */
export function llmCallRow(runId: string, n: number): NewLlmCall {
  return {
    runId,
    attempt: 0,
    provider: "openai",
    model: "gpt-4o-mini",
    endpoint: "/v1/chat/completions",
    status: 200,
    startedAt: new Date(),
    latencyMs: n,
    inputTokens: n,
    costUsd: "0.0000000001",
    requestBody: `{"token":"run-token-literal-value-${n}"}`,
  };
}
