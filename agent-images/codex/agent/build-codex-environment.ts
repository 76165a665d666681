import { pickInheritedEnvironment } from "../../base/agent-kit/pick-inherited-environment.ts";
import type { WrapperConfig } from "./read-wrapper-config.ts";

/**
 * Codex's environment: only what it needs, since its shell commands inherit all of it.
 * The run token rides as AIRLOCK_RUN_TOKEN (the provider's env_key, and what
 * airlock-request reads); HOME and CODEX_HOME stay outside TMPDIR, where Codex refuses to
 * create its helper links.
 */
export function buildCodexEnvironment(
  config: WrapperConfig,
  inherited: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return {
    ...pickInheritedEnvironment(inherited),
    AIRLOCK_RUN_TOKEN: config.apiKey,
    CODEX_HOME: config.configDir,
    TMPDIR: "/tmp",
    RUST_LOG: "warn",
  };
}
