import type { PermissionLevel } from "./permission-levels.ts";

/** `.github/airlock.yml` after validation, every default filled in. */
export interface RepoConfig {
  /** Catalog agent ids this repository allows, in the order the file lists them. */
  agents: string[];
  /** One of `agents`; used when a label or command names none. */
  defaultAgent: string;
  /** The least role a sender needs to start, stop or steer a run. */
  minPermission: PermissionLevel;
  /** Whether the person who asked for a run is barred from approving its capabilities. */
  requesterCannotApprove: boolean;
  /** Whether commits touching `.github/workflows/` may be pushed. */
  allowWorkflowChanges: boolean;
  model?: string;
  budget: { usd: number; tokens: number };
  /** What the repository asks for; the runner still clamps each to the operator's ceiling. */
  limits: { timeoutS?: number; memoryMb?: number; cpus?: number; pids?: number };
}
