// Mirrors agent-images/claude-code/agent/read-wrapper-config.ts for OpenClaw: each image's
// build context is its own folder, so the wrappers cannot share a file.
/** The wrapper's settings, read from the container's environment once at start. */
export interface WrapperConfig {
  model: string;
  apiKey: string;
  baseUrl: string;
  workspace: string;
  taskPath: string;
  summaryPath: string;
  /** OpenClaw's config and state directory (`--state-dir`), kept across a resume. */
  configDir: string;
  /** Set on a run resumed after a capability decision: the runner's resume.json. */
  resumePath: string | undefined;
  /** OpenClaw's own deadline for the turn, under the sandbox's. */
  timeoutS: number;
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
    apiKey: need("ANTHROPIC_API_KEY"),
    baseUrl: need("ANTHROPIC_BASE_URL"),
    workspace,
    taskPath: `${workspace}/.airlock/task.md`,
    summaryPath: `${workspace}/.airlock/summary.md`,
    configDir: stateDir ? `${stateDir}/openclaw` : `${home}/.openclaw`,
    resumePath: resuming ? `${stateDir}/resume.json` : undefined,
    timeoutS: count("AIRLOCK_OPENCLAW_TIMEOUT_S", 1800, 86_400),
  };
}
