import type { AuditEventData, AuditEventType } from "../../core/audit/audit-event-schemas.ts";
import type { Logger } from "../../core/logger.ts";
import type { RunPhase } from "../../core/run-phases.ts";
import type { RunState } from "../../core/run-states.ts";
import type { GitCredentials } from "../relay/git-credentials.ts";
import type { WorkspaceVolume } from "../sandbox/mount-workspace-volume.ts";
import type { RecordedRunInput } from "./recorded-run-input.ts";
import type { RunDeps } from "./run-deps.ts";

/** What every phase of a run shares; built once by runRecordedRun. */
export interface RunPhaseContext {
  deps: RunDeps;
  input: RecordedRunInput;
  /** Carries the run id and agent. */
  log: Logger;
  /** `<dataDir>/runs/<id>`: the host clone and the workspace. */
  runDir: string;
  /** `<dataDir>/sockets/<id>`: the proxy's socket, mounted at /run/airlock. */
  socketDir: string;
  /** Append to the run's audit ledger. */
  audit: <T extends AuditEventType>(type: T, data: AuditEventData<T>) => Promise<unknown>;
  /** Run one phase of the current segment and store how long it took (issue 15); a phase that throws is not stored. */
  time: <T>(phase: RunPhase, work: () => Promise<T>) => Promise<T>;
  /** Store a phase measured by its caller (the container's start and the agent, split inside the sandbox). */
  recordPhase: (phase: RunPhase, ms: number) => Promise<void>;
  /** Move the run to a state (only while it is still on this attempt) and report it. */
  enter: (state: RunState, data?: { reason?: string }) => Promise<void>;
  /** Issue 9 §4: the disk-capped workspace, once prepareRunWorkspace mounted it (AIRLOCK_MAX_DISK_MB). */
  workspaceVolume?: WorkspaceVolume | undefined;
  /**
   * Ask the source for git credentials again (an installation token may be close to
   * expiry); the orchestrator keeps the last answer to redact it from any error.
   */
  askCredentials: () => Promise<GitCredentials | undefined>;
}
