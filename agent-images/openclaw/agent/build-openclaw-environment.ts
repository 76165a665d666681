import { pickInheritedEnvironment } from "../../base/agent-kit/pick-inherited-environment.ts";
import type { WrapperConfig } from "./read-wrapper-config.ts";

/**
 * OpenClaw's environment: only what it needs (its exec tool's commands inherit it). The run
 * token rides as AIRLOCK_RUN_TOKEN (the provider's `apiKey`, and what airlock-request reads).
 * Everything that is not an LLM call is switched off: update checks and anonymous stats (off
 * anyway when CI is set), helper downloads (fd, ripgrep), mDNS.
 */
export function buildOpenclawEnvironment(
  config: WrapperConfig,
  inherited: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return {
    ...pickInheritedEnvironment(inherited),
    AIRLOCK_RUN_TOKEN: config.apiKey,
    TMPDIR: "/tmp",
    CI: "1",
    DO_NOT_TRACK: "1",
    OPENCLAW_NO_AUTO_UPDATE: "1",
    OPENCLAW_OFFLINE: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
  };
}
