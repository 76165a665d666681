import {
  readCommonConfig,
  readCountSetting,
  type CommonConfig,
} from "../../base/agent-kit/read-common-config.ts";

/** The wrapper's settings, read from the container's environment once at start. */
export interface WrapperConfig extends CommonConfig {
  /**
   * OpenClaw's own deadline for the turn, under the sandbox's. (`configDir` is its config
   * and state directory, `--state-dir`, kept across a resume.)
   */
  timeoutS: number;
}

/** OpenClaw's: the Anthropic variables, `openclaw/` and its own turn deadline. */
export function readWrapperConfig(env: NodeJS.ProcessEnv = process.env): WrapperConfig {
  return {
    ...readCommonConfig(env, {
      apiKeyVariable: "ANTHROPIC_API_KEY",
      baseUrlVariable: "ANTHROPIC_BASE_URL",
      configFolder: "openclaw",
    }),
    timeoutS: readCountSetting(env, "AIRLOCK_OPENCLAW_TIMEOUT_S", 1800, 86_400),
  };
}
