import { WrapperConfigError } from "./wrapper-config-error.ts";

/** The settings every CLI wrapper reads the same way; each adds its CLI's own. */
export interface CommonConfig {
  model: string;
  apiKey: string;
  baseUrl: string;
  workspace: string;
  taskPath: string;
  summaryPath: string;
  /** Where the CLI keeps its settings and sessions. */
  configDir: string;
  /** Set on a run resumed after a capability decision: the runner's resume.json. */
  resumePath: string | undefined;
}

export interface CommonConfigNames {
  /** The variable holding the run token, e.g. ANTHROPIC_API_KEY. */
  apiKeyVariable: string;
  /** The variable holding the bridge's URL, e.g. ANTHROPIC_BASE_URL. */
  baseUrlVariable: string;
  /** The CLI's folder: `$AIRLOCK_STATE_DIR/<name>`, else `$HOME/.<name>`. */
  configFolder: string;
}

/**
 * Session state lives in AIRLOCK_STATE_DIR when the runner gives one (it is saved when the
 * run pauses for a capability decision and restored on resume), else in the home tmpfs.
 */
export function readCommonConfig(env: NodeJS.ProcessEnv, names: CommonConfigNames): CommonConfig {
  const need = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new WrapperConfigError(`${name} is not set; the runner sets it for every agent`);
    return value;
  };
  const workspace = env.AIRLOCK_WORKSPACE?.trim() || "/workspace";
  const stateDir = env.AIRLOCK_STATE_DIR?.trim();
  const home = need("HOME");
  const resuming = env.AIRLOCK_RESUME === "1";
  if (resuming && !stateDir)
    throw new WrapperConfigError("AIRLOCK_RESUME=1 needs AIRLOCK_STATE_DIR, where the session was saved");
  return {
    model: need("AIRLOCK_MODEL"),
    apiKey: need(names.apiKeyVariable),
    baseUrl: need(names.baseUrlVariable),
    workspace,
    taskPath: `${workspace}/.airlock/task.md`,
    summaryPath: `${workspace}/.airlock/summary.md`,
    configDir: stateDir ? `${stateDir}/${names.configFolder}` : `${home}/.${names.configFolder}`,
    resumePath: resuming ? `${stateDir}/resume.json` : undefined,
  };
}

/** A whole-number setting from 0 to `max`; `fallback` when unset. */
export function readCountSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  max: number,
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new WrapperConfigError(`${name} must be a whole number from 0 to ${max}, got "${raw}"`);
  return value;
}
