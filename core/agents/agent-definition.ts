/** Which provider API an agent speaks; the proxy serves both on the same socket. */
export type AgentApi = "openai" | "anthropic";

/** Limits an agent gets unless `.github/airlock.yml` asks for less (never more than the operator's ceiling). */
export interface AgentDefaultLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
  timeoutS: number;
}

/** One entry of the agent catalog: everything app and runner need to start an agent. */
export interface AgentDefinition {
  /** Lower-case id used in labels (`airlock:<id>`), `--agent <id>` and image names. */
  id: string;
  title: string;
  image: {
    /** `airlock/<id>`; the tag is computed from the base image and the capabilities. */
    repository: string;
    /** Build context, relative to `agent-images/`. */
    contextDir: string;
    /** Relative to contextDir. */
    dockerfile: string;
  };
  /** The container's argv (after the base image's entrypoint). */
  command: readonly string[];
  api: AgentApi;
  defaultLimits: Readonly<AgentDefaultLimits>;
  /** Model asked for when the run names none (AIRLOCK_MODEL inside the container). */
  defaultModel: string;
  /**
   * The exit code by which the agent says "the proxy refused a call for budget", if it has
   * one. Without it, only the proxy's own budget refusal in llm_calls counts.
   */
  budgetExitCode?: number | undefined;
  /**
   * The npm package (pinned in the image folder's npm-packages.json) whose version is the
   * agent's, as `airlock agents` shows it: the CLI the image wraps. Without it, the image
   * folder's VERSION.
   */
  versionPackage?: string | undefined;
}
