import { pickInheritedEnvironment } from "../../base/agent-kit/pick-inherited-environment.ts";
import type { WrapperConfig } from "./read-wrapper-config.ts";

/**
 * Claude Code's environment. Every model it may pick (main, the small/fast one for titles
 * and summaries, subagents, each alias) is pinned to the run's model: the proxy refuses
 * any other, and the meter would see surprise models. Everything that is not an LLM call
 * is switched off (telemetry, error reports, update checks, feature flags, marketplace
 * sync, the /api/hello probe): the container has no network, so each would only fail, and
 * some would retry. Retries are bounded so a revoked token or a spent budget ends the run
 * in seconds (unbounded, a 401 is retried with backoff for minutes).
 */
export function buildClaudeEnvironment(
  config: WrapperConfig,
  inherited: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  const model = config.model;
  return {
    ...pickInheritedEnvironment(inherited),
    // airlock-request (in the agent's shell) reads the run token from here.
    AIRLOCK_RUN_TOKEN: config.apiKey,
    ANTHROPIC_BASE_URL: config.baseUrl,
    ANTHROPIC_API_KEY: config.apiKey,
    ANTHROPIC_MODEL: model,
    ANTHROPIC_DEFAULT_OPUS_MODEL: model,
    ANTHROPIC_DEFAULT_SONNET_MODEL: model,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
    ANTHROPIC_SMALL_FAST_MODEL: model,
    CLAUDE_CODE_SUBAGENT_MODEL: model,
    CLAUDE_CONFIG_DIR: config.configDir,
    TMPDIR: "/tmp",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_UPDATES: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_BUG_COMMAND: "1",
    DISABLE_GROWTHBOOK: "1",
    CLAUDE_CODE_DISABLE_FEATURE_FLAGS: "1",
    CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL: "1",
    // Fast mode is billed above the price table (the proxy refuses it without a grant).
    CLAUDE_CODE_DISABLE_FAST_MODE: "1",
    CLAUDE_CODE_MAX_RETRIES: String(config.maxRetries),
    API_TIMEOUT_MS: "600000",
  };
}
