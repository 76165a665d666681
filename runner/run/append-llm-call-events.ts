import type { LlmCall } from "../../core/db/schema.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

/** One `llm.call` audit entry per llm_calls row, in id order, once the agent has ended. */
export async function appendLlmCallEvents(
  audit: RunPhaseContext["audit"],
  calls: readonly LlmCall[],
): Promise<void> {
  for (const call of calls) {
    await audit("llm.call", {
      id: call.id,
      provider: call.provider,
      model: call.model,
      status: call.status,
      inputTokens: call.inputTokens,
      outputTokens: call.outputTokens,
      cacheReadTokens: call.cacheReadTokens,
      cacheCreationTokens: call.cacheCreationTokens,
      costUsd: call.costUsd,
      priced: call.priced,
    });
  }
}
