import { UsageError } from "../../core/errors.ts";

/**
 * The container's whole environment. Nothing from the host's: the run token stands in for
 * both providers' keys, so a real key cannot leak into the sandbox through a forgotten variable.
 */
export function buildAgentEnvironment(
  extra: Record<string, string> | undefined,
  token: string,
  model: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (!/^AIRLOCK_[A-Z0-9_]+$/.test(key)) {
      throw new UsageError(
        `agent setting ${key} is not an AIRLOCK_* variable; only those are passed to the agent`,
      );
    }
    env[key] = value;
  }
  return { ...env, OPENAI_API_KEY: token, ANTHROPIC_API_KEY: token, AIRLOCK_MODEL: model };
}
