import type { CapabilityCheck } from "./capability-kinds.ts";
import { grantableLlmTools, isGrantableLlmTool } from "./llm-tool-grants.ts";

/** `llm-tool:<grant>`: one of the grants the LLM proxy's policy knows (llm-tool-grants.ts). */
export function checkLlmTool(name: string, version: string | undefined): CapabilityCheck<{ name: string }> {
  if (version !== undefined) {
    return { ok: false, field: "version", reason: "llm-tool grants take no version" };
  }
  if (!isGrantableLlmTool(name)) {
    return {
      ok: false,
      field: "name",
      reason: `not a hosted tool the Airlock proxy can grant; ask for one of ${grantableLlmTools.join(", ")} (the name the proxy's refusal message gave)`,
    };
  }
  return { ok: true, name };
}
