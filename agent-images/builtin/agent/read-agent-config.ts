import { defaultRunCommandLimits, type RunCommandLimits } from "./run-command.ts";

export interface AgentConfig {
  baseUrl: string;
  apiKey: string;
  model: string;
  maxSteps: number;
  llmRetries: number;
  llmTimeoutS: number;
  workspaceRoot: string;
  taskPath: string;
  bridgeUrl: string;
  runCommandLimits: RunCommandLimits;
}

export const defaultModel = "gpt-4.1-mini";

/** A setting that cannot be used; the message names the variable and what it expects. */
export class AgentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentConfigError";
  }
}

/**
 * The agent's settings, all from the environment the runner gives the container
 * (the base image's entrypoint sets OPENAI_BASE_URL to its socket bridge).
 */
export function readAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const baseUrl = env.OPENAI_BASE_URL;
  if (!baseUrl) {
    throw new AgentConfigError(
      "OPENAI_BASE_URL is not set. In Airlock's sandbox the entrypoint sets it when the proxy socket " +
        "is mounted at /run/airlock/llm.sock; elsewhere set it to an OpenAI-compatible /v1 URL",
    );
  }
  try {
    new URL(baseUrl);
  } catch {
    throw new AgentConfigError(
      `OPENAI_BASE_URL must be a URL such as http://127.0.0.1:4000/v1, got "${baseUrl}"`,
    );
  }
  const apiKey = env.OPENAI_API_KEY;
  if (!apiKey) throw new AgentConfigError("OPENAI_API_KEY is not set (in Airlock it is the run token)");
  const workspaceRoot = env.AIRLOCK_WORKSPACE || "/workspace";
  const bridgePort = integer(env, "AIRLOCK_BRIDGE_PORT", 4000, 1, 65535);
  return {
    baseUrl,
    apiKey,
    model: env.AIRLOCK_MODEL || defaultModel,
    maxSteps: integer(env, "AIRLOCK_MAX_STEPS", 40, 1, 1000),
    llmRetries: integer(env, "AIRLOCK_LLM_RETRIES", 2, 0, 10),
    llmTimeoutS: integer(env, "AIRLOCK_LLM_TIMEOUT_S", 600, 1, 3600),
    workspaceRoot,
    taskPath: `${workspaceRoot}/.airlock/task.md`,
    bridgeUrl: `http://127.0.0.1:${bridgePort}`,
    runCommandLimits: {
      ...defaultRunCommandLimits,
      outputCapBytes: integer(
        env,
        "AIRLOCK_COMMAND_OUTPUT_CAP",
        defaultRunCommandLimits.outputCapBytes,
        256,
        1 << 20,
      ),
    },
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AgentConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
