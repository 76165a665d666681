import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { RunState } from "../../core/run-states.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import type { GitCredentials } from "../relay/git-credentials.ts";
import type { RelayPolicy } from "../relay/relay-workspace.ts";
import type { SandboxLimits } from "../sandbox/sandbox-limits.ts";

/** A run already in the database, as `runRecordedRun` takes it. */
export interface RecordedRunInput {
  /** A recorded run (its `run.started` or `run.claimed` entry already in the ledger). */
  runId: string;
  /** The claim number: run tokens name it, so a token minted for an earlier attempt is refused. */
  attempt: number;
  agent: AgentDefinition;
  model: string;
  /** The task for `.airlock/task.md`, already cleaned of anything the agent must not see. */
  prompt: string;
  /** Already clamped to the operator's ceiling. */
  timeoutS: number;
  /** What the repository asks for (`.github/airlock.yml`); runSandboxed clamps it to the ceiling. */
  limits?: Partial<Pick<SandboxLimits, "memoryMb" | "cpus" | "pids">> | undefined;
  source: {
    /** A local path or a git URL. */
    remote: string;
    /** Branch to start from; the default branch when absent. */
    ref?: string | undefined;
    /** Asked for once per git command that needs them (clone, push), so a short-lived token is fresh. */
    credentials?: (() => Promise<GitCredentials | undefined>) | undefined;
  };
  /** The commit subject's text (default: the prompt's first line). */
  subject?: string | undefined;
  /** The branch the relay commits to and pushes. */
  branch: string;
  /** Overwrite the remote branch (a re-claimed run's own branch, which an earlier attempt may have pushed). */
  forcePush?: boolean | undefined;
  relayPolicy?: RelayPolicy | undefined;
  /**
   * Image grants approved before the run started (issue 10 §8: `airlock run --grant`):
   * the agent runs in the granted image, and the ledger records them with the approver.
   */
  preapproved?: { grants: readonly CapabilitySpec[]; approvedBy: string } | undefined;
  onProgress?: ((event: { runId: string; state: RunState }) => void) | undefined;
  /**
   * The run's segment (runs.segment): 0 for a new run; more when a runner resumes it after
   * capability decisions (the workspace then comes from the run's branch, `source.ref`,
   * and the agent's state from the database).
   */
  segment?: number | undefined;
  /** How long a parked run waits for decisions (the repository's approval_timeout; default 72 h). */
  approvalTimeoutS?: number | undefined;
  /**
   * Decide pending requests here and now (`airlock run`: asked on the terminal, or denied
   * by --deny-requests) instead of parking the run for a review. Without it the run parks.
   */
  decideRequests?: ((pending: readonly CapabilityRequest[]) => Promise<LocalDecision[]>) | undefined;
  /** A granted request's rebuild failed: tell the maintainer where they decided (the review thread). */
  onCapabilityFailed?: ((request: CapabilityRequest, logTail: string) => Promise<void>) | undefined;
}

/** One decision taken outside GitHub: by the operator at the terminal, or by a flag. */
export interface LocalDecision {
  id: number;
  state: "granted" | "denied";
  by: string;
  reason?: string | undefined;
}
