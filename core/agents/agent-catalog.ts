import type { AgentDefinition } from "./agent-definition.ts";

/**
 * The agents Airlock can run, in the order `airlock agents` lists them. Adding an agent
 * is one entry here plus its folder under `agent-images/`.
 */
export const agentCatalog: readonly AgentDefinition[] = Object.freeze([
  Object.freeze({
    id: "builtin",
    title: "Airlock's builtin coding agent (OpenAI-compatible tool calling)",
    image: { repository: "airlock/builtin", contextDir: "builtin", dockerfile: "Dockerfile" },
    command: Object.freeze(["node", "/opt/airlock-agent/agent/main.ts"]),
    api: "openai" as const,
    defaultLimits: Object.freeze({ memoryMb: 2048, cpus: 1, pids: 256, timeoutS: 1800 }),
    defaultModel: "gpt-4.1-mini",
    // agent-images/builtin/README.md: exit 3 is "budget exhausted".
    budgetExitCode: 3,
  }),
  Object.freeze({
    id: "claude-code",
    title: "Claude Code (Anthropic's coding CLI), headless, approvals off",
    image: { repository: "airlock/claude-code", contextDir: "claude-code", dockerfile: "Dockerfile" },
    command: Object.freeze(["node", "/opt/airlock-agent/agent/main.ts"]),
    api: "anthropic" as const,
    defaultLimits: Object.freeze({ memoryMb: 4096, cpus: 1, pids: 512, timeoutS: 1800 }),
    defaultModel: "claude-sonnet-4-5",
    // agent-images/claude-code/README.md: exit 3 is "budget exhausted".
    budgetExitCode: 3,
    versionPackage: "@anthropic-ai/claude-code",
  }),
  Object.freeze({
    id: "codex",
    title: "OpenAI Codex CLI (codex exec), headless, approvals and its own sandbox off",
    image: { repository: "airlock/codex", contextDir: "codex", dockerfile: "Dockerfile" },
    command: Object.freeze(["node", "/opt/airlock-agent/agent/main.ts"]),
    api: "openai" as const,
    defaultLimits: Object.freeze({ memoryMb: 4096, cpus: 1, pids: 512, timeoutS: 1800 }),
    defaultModel: "gpt-5",
    // agent-images/codex/README.md: exit 3 is "budget exhausted".
    budgetExitCode: 3,
    versionPackage: "@openai/codex",
  }),
  Object.freeze({
    id: "openclaw",
    title: "OpenClaw (openclaw agent exec), headless, one turn, Anthropic Messages",
    image: { repository: "airlock/openclaw", contextDir: "openclaw", dockerfile: "Dockerfile" },
    command: Object.freeze(["node", "/opt/airlock-agent/agent/main.ts"]),
    api: "anthropic" as const,
    defaultLimits: Object.freeze({ memoryMb: 4096, cpus: 1, pids: 512, timeoutS: 1800 }),
    defaultModel: "claude-sonnet-4-5",
    // agent-images/openclaw/README.md: exit 3 is "budget exhausted".
    budgetExitCode: 3,
    versionPackage: "openclaw",
  }),
]);
