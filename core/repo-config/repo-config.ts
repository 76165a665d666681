import type { PermissionLevel } from "./permission-levels.ts";

/** `.github/airlock.yml` after validation, every default filled in. */
export interface RepoConfig {
  /** Catalog agent ids this repository allows, in the order the file lists them. */
  agents: string[];
  /** One of `agents`; used when a label or command names none. */
  defaultAgent: string;
  /** The least role a sender needs to start, stop or steer a run. */
  minPermission: PermissionLevel;
  /** The least role a reviewer needs to grant or deny an agent's capability requests. */
  approvePermission: PermissionLevel;
  /** Whether the person who started a run is barred from deciding its capability requests. */
  requireDistinctApprover: boolean;
  /** How long a parked run waits for decisions before it ends capability_timeout. */
  approvalTimeoutS: number;
  /** Whether commits touching `.github/workflows/` may be pushed. */
  allowWorkflowChanges: boolean;
  model?: string;
  budget: { usd: number; tokens: number };
  /** What the repository asks for; the runner still clamps each to the operator's ceiling. */
  limits: { timeoutS?: number; memoryMb?: number; cpus?: number; pids?: number };
  /**
   * Where images with granted apt, npm and pip packages are built (issue 11): `local` by
   * the runner that resumes the run, or `actions` by the repository's workflow (using
   * `action/`), pushed to `registry` and pulled by digest. `registry` and `workflow` are
   * set only with `actions`.
   */
  images: { build: "local" } | { build: "actions"; registry: string; workflow: string };
}
