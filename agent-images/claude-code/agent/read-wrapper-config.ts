import {
  readCommonConfig,
  readCountSetting,
  type CommonConfig,
} from "../../base/agent-kit/read-common-config.ts";

/** The wrapper's settings, read from the container's environment once at start. */
export interface WrapperConfig extends CommonConfig {
  /** `configDir` is where Claude Code keeps its settings and sessions (CLAUDE_CONFIG_DIR). */
  maxTurns: number;
  maxRetries: number;
}

/** Claude Code's: the Anthropic variables, `claude/`, the turn and retry bounds. */
export function readWrapperConfig(env: NodeJS.ProcessEnv = process.env): WrapperConfig {
  return {
    ...readCommonConfig(env, {
      apiKeyVariable: "ANTHROPIC_API_KEY",
      baseUrlVariable: "ANTHROPIC_BASE_URL",
      configFolder: "claude",
    }),
    maxTurns: readCountSetting(env, "AIRLOCK_MAX_STEPS", 40, 1000),
    maxRetries: readCountSetting(env, "AIRLOCK_LLM_RETRIES", 2, 10),
  };
}
