import type { Writable } from "node:stream";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { Db } from "../../core/db/open-database.ts";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import type { EgressLimitsInput } from "../egress/egress-limits.ts";
import type { EgressTestHooks } from "../egress/serve-run-egress.ts";
import type { SbomDelta } from "../images/build-granted-image.ts";
import type { ImageGrant } from "../images/image-grant.ts";
import type { ProxyUpstreams } from "../proxy/choose-upstreams.ts";
import type { SharedProxyMetrics } from "../proxy/create-proxy-metrics.ts";
import type { PriceTable } from "../proxy/price-table.ts";
import type { RetryPolicy } from "../proxy/send-upstream.ts";
import type { RelayPolicy } from "../relay/relay-workspace.ts";
import type { MirrorCache } from "../relay/sync-repository-mirror.ts";
import type { SandboxCeiling } from "../sandbox/run-sandboxed.ts";
import type { RunPhase } from "../../core/run-phases.ts";

/** The image a run starts; `grants` and `sbomDelta` only for a granted image. */
export interface EnsuredImage {
  ref: string;
  id: string;
  grants?: ImageGrant[] | undefined;
  sbomDelta?: SbomDelta | undefined;
}

/** What a run needs from the process that runs it: the same for `airlock run` and a runner. */
export interface RunDeps {
  db: Db;
  runtime: ContainerRuntime;
  logger: Logger;
  /** AIRLOCK_TOKEN_SECRET: the run-token and audit-ledger keys are derived from it (core/keys). */
  tokenSecret: string;
  /** The proxy's upstreams; the real keys stay here, on the host. */
  upstreams: ProxyUpstreams;
  prices?: PriceTable | undefined;
  /** AIRLOCK_ALLOWED_MODELS: models every run may call besides its agent's and its repository's. */
  allowedModels?: readonly string[] | undefined;
  /**
   * Absolute. The run's folder is `<dataDir>/runs/<id>/`, its sockets
   * `<dataDir>/sockets/<id>/llm.sock` (LLM proxy) and `egress.sock` (egress proxy).
   */
  dataDir: string;
  ceiling: SandboxCeiling;
  /** AIRLOCK_MAX_DISK_MB: the workspace is a filesystem of this size (needs root); undefined = no cap. */
  maxDiskMb?: number | undefined;
  /** Issue 15: the host's repository mirrors (AIRLOCK_MIRROR_DIR, AIRLOCK_MIRROR_CACHE_MB); undefined = a full clone per run. */
  mirrorCache?: MirrorCache | undefined;
  runnerId: string;
  catalog?: readonly AgentDefinition[] | undefined;
  /**
   * The agent's image, built when missing; default buildAgentImage (Docker's cache makes a
   * rebuild cheap), or buildGrantedImage when the run has grants. An implementation given
   * grants must return them (as built) with the SBOM delta: a run with grants refuses an
   * image that does not say it has them.
   */
  ensureImage?:
    ((agent: AgentDefinition, grants: readonly ImageGrant[]) => Promise<EnsuredImage>) | undefined;
  /** AIRLOCK_PIP_INDEX_URL: where granted pip packages come from (none: pip grants fail their rebuild). */
  pipIndexUrl?: string | undefined;
  /** Aborting it cancels the run: the sandbox is killed and nothing is relayed. */
  signal?: AbortSignal | undefined;
  proxyRetry?: Partial<RetryPolicy> | undefined;
  /** The operator's bounds for each run's egress proxy (ports, timeouts); default egressLimitsSchema's. */
  egressLimits?: EgressLimitsInput | undefined;
  /** TEST ONLY: host resolution and the loopback opening of the egress proxy; never set in production. */
  egressForTests?: EgressTestHooks | undefined;
  /** The runner's proxy metrics, fed by every run's proxy (issue 13 §3); default: each proxy keeps its own. */
  proxyMetrics?: SharedProxyMetrics | undefined;
  relayPolicy?: RelayPolicy | undefined;
  /** The runner's phase histogram (issue 15); every phase is stored with the run either way. */
  observeRunPhase?: ((phase: RunPhase, agent: string, seconds: number) => void) | undefined;
  /** Extra `AIRLOCK_*` settings for the agent (e.g. AIRLOCK_MAX_STEPS); nothing else passes. */
  agentEnv?: Record<string, string> | undefined;
  /** Where the agent's own stdout/stderr go (default: dropped; the ledger and summary are the record). */
  agentStdout?: Writable | undefined;
  agentStderr?: Writable | undefined;
}
