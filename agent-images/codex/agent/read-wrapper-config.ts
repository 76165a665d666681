import {
  readCommonConfig,
  readCountSetting,
  type CommonConfig,
} from "../../base/agent-kit/read-common-config.ts";

/** The wrapper's settings, read from the container's environment once at start. */
export interface WrapperConfig extends CommonConfig {
  /** `configDir` is where Codex keeps its config.toml, sessions and databases (CODEX_HOME). */
  maxRetries: number;
  /** The bundled catalog entry the run's model is described as (AIRLOCK_CODEX_MODEL_PROFILE). */
  modelProfile: string;
}

/** Codex's: the OpenAI variables, `codex/`, the retry bound and the model profile. */
export function readWrapperConfig(env: NodeJS.ProcessEnv = process.env): WrapperConfig {
  return {
    ...readCommonConfig(env, {
      apiKeyVariable: "OPENAI_API_KEY",
      baseUrlVariable: "OPENAI_BASE_URL",
      configFolder: "codex",
    }),
    modelProfile: env.AIRLOCK_CODEX_MODEL_PROFILE?.trim() || "gpt-5.5",
    maxRetries: readCountSetting(env, "AIRLOCK_LLM_RETRIES", 2, 10),
  };
}
