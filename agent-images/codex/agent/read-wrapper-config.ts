// Mirrors agent-images/claude-code/agent/read-wrapper-config.ts with Codex's variables: each
// image's build context is its own folder, so the two wrappers cannot share a file.
/** The wrapper's settings, read from the container's environment once at start. */
export interface WrapperConfig {
  model: string;
  apiKey: string;
  baseUrl: string;
  workspace: string;
  taskPath: string;
  summaryPath: string;
  /** Where Codex keeps its config.toml, sessions and databases (CODEX_HOME). */
  configDir: string;
  /** Set on a run resumed after a capability decision: the runner's resume.json. */
  resumePath: string | undefined;
  /** The bundled catalog entry the run's model is described as (AIRLOCK_CODEX_MODEL_PROFILE). */
  modelProfile: string;
  maxRetries: number;
}

export class WrapperConfigError extends Error {
  override name = "WrapperConfigError";
}

/**
 * Session state lives in AIRLOCK_STATE_DIR when the runner gives one (it is saved when the
 * run pauses for a capability decision and restored on resume), else in the home tmpfs.
 */
export function readWrapperConfig(env: NodeJS.ProcessEnv = process.env): WrapperConfig {
  const need = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new WrapperConfigError(`${name} is not set; the runner sets it for every agent`);
    return value;
  };
  const count = (name: string, fallback: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > max)
      throw new WrapperConfigError(`${name} must be a whole number from 0 to ${max}, got "${raw}"`);
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
    apiKey: need("OPENAI_API_KEY"),
    baseUrl: need("OPENAI_BASE_URL"),
    workspace,
    taskPath: `${workspace}/.airlock/task.md`,
    summaryPath: `${workspace}/.airlock/summary.md`,
    configDir: stateDir ? `${stateDir}/codex` : `${home}/.codex`,
    resumePath: resuming ? `${stateDir}/resume.json` : undefined,
    modelProfile: env.AIRLOCK_CODEX_MODEL_PROFILE?.trim() || "gpt-5.5",
    maxRetries: count("AIRLOCK_LLM_RETRIES", 2, 10),
  };
}
