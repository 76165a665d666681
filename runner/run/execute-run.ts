import { access, chmod, mkdir, rm } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { Writable } from "node:stream";
import { asc, eq } from "drizzle-orm";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import type { AuditEventData, AuditEventType } from "../../core/audit/audit-event-schemas.ts";
import { auditHead } from "../../core/audit/audit-head.ts";
import type { Db } from "../../core/db/open-database.ts";
import { insertRun, setRunState } from "../../core/db/runs.ts";
import { llmCalls, type LlmCall } from "../../core/db/schema.ts";
import { UsageError } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import type { Logger } from "../../core/logger.ts";
import type { RunState } from "../../core/run-states.ts";
import { loadRunSummaryFacts } from "../../core/summary/load-run-summary-facts.ts";
import { renderRunSummary } from "../../core/summary/render-run-summary.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { buildAgentImage } from "../images/build-agent-image.ts";
import type { ProxyUpstreams } from "../proxy/choose-upstreams.ts";
import type { PriceTable } from "../proxy/price-table.ts";
import { mintRunToken } from "../proxy/run-token.ts";
import type { RetryPolicy } from "../proxy/send-upstream.ts";
import { serveProxyOnSocket, type ServedProxy } from "../proxy/serve-proxy.ts";
import { fillOperatorCredentials } from "../relay/fill-operator-credentials.ts";
import type { GitCredentials } from "../relay/git-credentials.ts";
import { prepareRunCheckout, type RunCheckout } from "../relay/prepare-run-checkout.ts";
import { pushBranch } from "../relay/push-branch.ts";
import { redactCredentials } from "../relay/redact-credentials.ts";
import { relayWorkspace, type RelayPolicy, type RelayResult } from "../relay/relay-workspace.ts";
import { mountWorkspaceVolume, type WorkspaceVolume } from "../sandbox/mount-workspace-volume.ts";
import { removeRunCheckout } from "../relay/remove-run-checkout.ts";
import { runSandboxed, type SandboxCeiling, type SandboxResult } from "../sandbox/run-sandboxed.ts";
import type { SandboxLimits } from "../sandbox/sandbox-limits.ts";
import { decideRunOutcome, type RunOutcome } from "./decide-run-outcome.ts";
import { readAgentSummary } from "./read-agent-summary.ts";
import { writeTaskFile } from "./write-task-file.ts";

export interface ExecuteRunDeps {
  db: Db;
  runtime: ContainerRuntime;
  logger: Logger;
  /** AIRLOCK_TOKEN_SECRET: signs the run token and keys the audit HMACs. */
  tokenSecret: string;
  /** The proxy's upstreams; the real keys stay here, on the host. */
  upstreams: ProxyUpstreams;
  prices?: PriceTable | undefined;
  /** AIRLOCK_ALLOWED_MODELS: models every run may call besides its agent's and its repository's. */
  allowedModels?: readonly string[] | undefined;
  /** Absolute. The run's folder is `<dataDir>/runs/<id>/`, its socket `<dataDir>/sockets/<id>/llm.sock`. */
  dataDir: string;
  ceiling: SandboxCeiling;
  /** AIRLOCK_MAX_DISK_MB: the workspace is a filesystem of this size (needs root); undefined = no cap. */
  maxDiskMb?: number | undefined;
  runnerId: string;
  catalog?: readonly AgentDefinition[] | undefined;
  /** The agent's image, built when missing; default buildAgentImage (Docker's cache makes a rebuild cheap). */
  ensureImage?: ((agent: AgentDefinition) => Promise<{ ref: string; id: string }>) | undefined;
  /** Aborting it cancels the run: the sandbox is killed and nothing is relayed. */
  signal?: AbortSignal | undefined;
  proxyRetry?: Partial<RetryPolicy> | undefined;
  relayPolicy?: RelayPolicy | undefined;
  /** Extra `AIRLOCK_*` settings for the agent (e.g. AIRLOCK_MAX_STEPS); nothing else passes. */
  agentEnv?: Record<string, string> | undefined;
  /** Where the agent's own stdout/stderr go (default: dropped; the ledger and summary are the record). */
  agentStdout?: Writable | undefined;
  agentStderr?: Writable | undefined;
}

export interface ExecuteRunInput {
  /** A local path or a git URL. */
  repo: string;
  agent: string;
  prompt: string;
  model?: string | undefined;
  budgetUsd?: number | undefined;
  budgetTokens?: number | undefined;
  /** The sandbox deadline; default the agent's, never above the operator's ceiling. */
  timeoutS?: number | undefined;
  /** Called at each state change. */
  onProgress?: ((event: { runId: string; state: RunState }) => void) | undefined;
  /** Default newRunId(). */
  runId?: string | undefined;
}

export interface ExecuteRunResult {
  runId: string;
  outcome: RunOutcome;
  reason: string;
  summaryMarkdown: string;
  branch?: string | undefined;
  commit?: string | undefined;
  relay?: RelayResult | undefined;
  sandbox?: SandboxResult | undefined;
}

/** Time the run token outlives the deadline: the agent's last call may start just before it. */
const tokenMarginS = 300;
const defaultRelayPolicy: RelayPolicy = {
  allowWorkflowChanges: false,
  maxFiles: 2000,
  maxFileBytes: 10 * 1024 * 1024,
  maxTotalBytes: 100 * 1024 * 1024,
};
const maxStoredSummaryChars = 16 * 1024;

/**
 * One whole run without GitHub (issue 4; DESIGN §1 steps 3, 4 and 7):
 *
 * 1. Record the run (kind "local"), audit `run.started`.
 * 2. Prepare: clone into `<dataDir>/runs/<id>/host`, export the workspace, write the task.
 * 3. Ensure the agent's image; audit `image.ready` with its id.
 * 4. Serve the proxy on the run's socket with a minted run token (expiry = deadline + margin).
 * 5. Run the agent sealed; the token is its API key, AIRLOCK_MODEL its model; no host env.
 * 6. Close the proxy (flushes every llm_calls row, each already chained as `llm.call` by
 *    the proxy's recorder), decide the outcome from the sandbox result and the proxy's
 *    rows; audit `sandbox.exit`, `agent.summary`.
 * 7. Relay (skipped when cancelled): audit `relay.started`, take the chain head, commit with
 *    trailers `Airlock-Run` and `Airlock-Audit: <that head>`, audit `relay.committed`, push,
 *    audit `relay.pushed`. The trailer therefore names the hash of the `relay.started`
 *    entry: the ledger as it stood when the commit was made; the entries after it record
 *    the commit and the push, and chain from it.
 * 8. Remove the run folder (only now that the relay is done) and the socket folder. When
 *    publishing fails the run ends failed and the folder is kept: it holds the only copy.
 * 9. Audit `run.finished`, set the final state, render the summary from the stored rows.
 */
export async function executeRun(deps: ExecuteRunDeps, input: ExecuteRunInput): Promise<ExecuteRunResult> {
  const agent = getAgent(input.agent, deps.catalog ?? agentCatalog);
  if (!isAbsolute(deps.dataDir)) {
    throw new UsageError(`the data folder "${deps.dataDir}" must be an absolute path`);
  }
  if (input.prompt.trim() === "") throw new UsageError('the prompt is empty; pass --prompt "<what to do>"');
  const { db } = deps;
  const runId = input.runId ?? newRunId();
  const model = input.model ?? agent.defaultModel;
  const timeoutS = Math.min(input.timeoutS ?? agent.defaultLimits.timeoutS, deps.ceiling.timeoutS);
  const repoForRecord = redactCredentials(input.repo, undefined);

  // 1. Record.
  await insertRun(db, {
    id: runId,
    kind: "local",
    state: "queued",
    agent: agent.id,
    repo: repoForRecord,
    prompt: input.prompt,
    model,
    budgetUsd: input.budgetUsd === undefined ? null : input.budgetUsd.toFixed(6),
    budgetTokens: input.budgetTokens ?? null,
  });
  await appendAuditEvent(db, {
    runId,
    type: "run.started",
    secret: deps.tokenSecret,
    data: {
      kind: "local",
      agent: agent.id,
      repo: repoForRecord,
      model,
      budgetUsd: input.budgetUsd ?? null,
      budgetTokens: input.budgetTokens ?? null,
      timeoutS,
      runner: deps.runnerId,
    },
  });
  deps.logger.info({ runId, agent: agent.id, model, timeoutS }, "run recorded");
  // An http(s) remote is cloned and pushed as the operator, with the host's own git
  // credential helper; the credential stays in this process and git's env.
  let credentials: GitCredentials | undefined;
  return performRun(deps, {
    runId,
    attempt: 0,
    agent,
    model,
    prompt: input.prompt,
    timeoutS,
    source: {
      remote: input.repo,
      credentials: async () => {
        credentials ??= await fillOperatorCredentials({ remote: input.repo, logger: deps.logger });
        return credentials;
      },
    },
    branch: `airlock/${runId}`,
    onProgress: input.onProgress,
  });
}

export interface PerformRunInput {
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
  onProgress?: ((event: { runId: string; state: RunState }) => void) | undefined;
}

/**
 * Steps 2–9 below for a run already recorded: `airlock run` records it just before; a
 * GitHub run was recorded by the app and claimed by a runner.
 */
export async function performRun(deps: ExecuteRunDeps, input: PerformRunInput): Promise<ExecuteRunResult> {
  const { db } = deps;
  const { agent, runId, model, timeoutS } = input;
  const log = deps.logger.child({ runId, agent: agent.id });
  const audit = <T extends AuditEventType>(type: T, data: AuditEventData<T>) =>
    appendAuditEvent(db, { runId, type, data, secret: deps.tokenSecret });
  const enter = async (state: RunState, data: { reason?: string } = {}) => {
    await setRunState(db, runId, state, data, { attempt: input.attempt });
    input.onProgress?.({ runId, state });
  };
  const runDir = join(deps.dataDir, "runs", runId);
  const socketDir = join(deps.dataDir, "sockets", runId);
  let checkout: RunCheckout | undefined;
  let outcome: RunOutcome;
  let reason: string;
  let sandbox: SandboxResult | undefined;
  let relay: RelayResult | undefined;
  let pushed: string | undefined;
  let credentials: GitCredentials | undefined;
  let keepRunDir = false;
  let recordError: string | undefined;
  // Issue 9 §4: the disk-capped workspace, mounted by prepareRunCheckout when a cap is set.
  let workspaceVolume: WorkspaceVolume | undefined;
  try {
    try {
      // 2. Prepare. An http(s) remote is cloned and pushed as the operator, with the host's
      // own git credential helper; the credential stays in this process and git's env.
      await enter("preparing");
      credentials = await input.source.credentials?.();
      checkout = await prepareRunCheckout({
        repo: input.source.remote,
        ref: input.source.ref,
        runId,
        baseDir: runDir,
        credentials,
        logger: deps.logger,
        createWorkspace:
          deps.maxDiskMb === undefined
            ? undefined
            : async (dir) => {
                workspaceVolume = await mountWorkspaceVolume({
                  dir,
                  imagePath: join(runDir, "workspace.img"),
                  sizeMb: deps.maxDiskMb!,
                  logger: log,
                });
              },
      });
      await writeTaskFile({ workspace: checkout.workspace, prompt: input.prompt });
      await audit("workspace.prepared", {
        baseCommit: checkout.baseCommit,
        defaultBranch: checkout.defaultBranch,
      });

      // 3. Image.
      const image = await (deps.ensureImage ?? defaultEnsureImage(deps))(agent);
      await audit("image.ready", { ref: image.ref, id: image.id });

      // 4. Proxy on the run's socket. The folder is root's and 0755 so the sandbox user can
      // reach the 0666 socket but cannot replace it with one of its own.
      await mkdir(socketDir, { recursive: true, mode: 0o755 });
      await chmod(socketDir, 0o755);
      const token = mintRunToken({
        runId,
        attempt: input.attempt,
        expiresAt: Math.floor(Date.now() / 1000) + timeoutS + tokenMarginS,
        secret: deps.tokenSecret,
      });
      let proxy: ServedProxy | undefined = await serveProxyOnSocket({
        socketPath: join(socketDir, "llm.sock"),
        runId,
        db,
        tokenSecret: deps.tokenSecret,
        upstreams: deps.upstreams,
        prices: deps.prices,
        allowedModels: deps.allowedModels ?? [],
        retry: deps.proxyRetry,
        logger: deps.logger,
      });
      try {
        // 5. The agent, sealed.
        await enter("running");
        sandbox = await runSandboxed({
          runtime: deps.runtime,
          logger: deps.logger,
          image: image.ref,
          argv: [...agent.command],
          limits: { ...agent.defaultLimits, ...input.limits, timeoutS },
          ceiling: deps.ceiling,
          runId,
          runnerId: deps.runnerId,
          workspaceDir: checkout.workspace,
          socketDir,
          env: agentEnvironment(deps.agentEnv, token, model),
          stdout: deps.agentStdout,
          stderr: deps.agentStderr,
          signal: deps.signal,
        });
        // 6. Every call committed before anything is decided from the rows.
        const closing = proxy.close();
        proxy = undefined;
        await closing.catch((error: unknown) => {
          recordError = (error as Error).message;
        });
      } finally {
        await proxy?.close();
      }
      const calls = await listRunCalls(db, runId);
      const disk = workspaceVolume && {
        full: (await workspaceVolume.readUsage()).full,
        capMb: workspaceVolume.sizeMb,
      };
      ({ outcome, reason } = decideRunOutcome(sandbox, calls, disk));
      if (recordError !== undefined) {
        // The ledger would be missing calls: the run cannot count as a success.
        outcome = "failed";
        reason = `the proxy could not record every LLM call (${recordError})`;
      }
      await audit("sandbox.exit", {
        reason: sandbox.reason,
        exitCode: sandbox.exitCode,
        durationMs: sandbox.durationMs,
        containerId: sandbox.containerId,
        limits: sandbox.limits,
      });
      const agentSummary = await readAgentSummary(checkout.workspace);
      if (agentSummary !== undefined) {
        await audit("agent.summary", { text: agentSummary.slice(0, maxStoredSummaryChars) });
      }
      log.info({ outcome, reason, calls: calls.length }, "agent ended");

      // 7. Relay, even a partial result (budget_exhausted, timed_out, and failed too: what the
      // agent left is worth a look, and the subject, commit body and summary all say it is
      // partial). A cancel means the operator wants it stopped, so nothing is published.
      if (outcome === "cancelled") {
        await audit("relay.skipped", { reason: "the run was cancelled" });
      } else {
        await enter("publishing");
        const { branch } = input;
        await audit("relay.started", { branch, baseCommit: checkout.baseCommit });
        const head = await auditHead(db, runId);
        relay = await relayWorkspace({
          hostClone: checkout.hostClone,
          workspace: checkout.workspace,
          runId,
          branch,
          message: {
            subject: commitSubject(outcome, input.subject ?? input.prompt),
            body: commitBody(outcome, reason, agentSummary),
          },
          trailers: { "Airlock-Run": runId, "Airlock-Audit": head ?? "none" },
          policy: input.relayPolicy ?? deps.relayPolicy ?? defaultRelayPolicy,
          logger: deps.logger,
          ignoredPaths: [".airlock"],
        });
        await audit("relay.committed", {
          branch,
          commit: relay.commit ?? null,
          auditHeadInTrailer: head ?? null,
          filesChanged: relay.filesChanged,
          heldBack: relay.heldBack,
          refused: relay.refused,
          refusedOmitted: relay.refusedOmitted,
        });
        if (relay.commit === undefined) {
          await audit("relay.skipped", { reason: "the agent changed no files that could be relayed" });
        } else {
          const result = await pushBranch({
            hostClone: checkout.hostClone,
            remote: input.source.remote,
            branch,
            // Asked again: an installation token minted for the clone may be close to expiry.
            credentials: (credentials = (await input.source.credentials?.()) ?? credentials),
            force: input.forcePush,
            logger: deps.logger,
          });
          pushed = branch;
          await audit("relay.pushed", { branch, commit: result.commit, remoteRef: result.remoteRef });
        }
      }
    } catch (error) {
      const message = redactCredentials((error as Error).message, credentials);
      if (sandbox === undefined) {
        // Before the agent ran there is no work to lose: record the failure and let the
        // operator see the error itself (a wrong path, Docker not running, a bad image).
        log.info({ err: message }, "run failed before the agent started");
        await audit("run.error", { reason: message }).catch(() => {});
        await finish("failed", message).catch(() => {});
        throw error;
      }
      // The agent's work exists only in the run folder now: keep it for the operator.
      keepRunDir = true;
      outcome = "failed";
      reason = `publishing failed: ${message}; the agent's workspace is kept in ${checkout?.workspace ?? runDir}`;
      log.error({ err: message, runDir }, "publishing failed; the run folder is kept");
      await audit("relay.failed", { reason: message, keptIn: runDir });
    }
    await finish(outcome, reason);
  } finally {
    // 8. Only now is the relay done (or abandoned with nothing to lose). A kept folder keeps its
    // workspace mounted, so it stays where the run's reason says.
    if (!keepRunDir) {
      await workspaceVolume
        ?.unmount()
        .catch((error: unknown) =>
          log.error({ err: (error as Error).message }, "could not unmount the workspace"),
        );
    }
    if (!keepRunDir && (checkout !== undefined || (await exists(runDir)))) {
      await removeRunCheckout(runDir).catch((error: unknown) =>
        log.error({ err: (error as Error).message }, "could not remove the run folder"),
      );
    }
    await rm(socketDir, { recursive: true, force: true });
  }

  // 9. The summary, from the rows.
  const summaryMarkdown = renderRunSummary(await loadRunSummaryFacts(db, runId));
  return {
    runId,
    outcome,
    reason,
    summaryMarkdown,
    branch: pushed,
    commit: pushed === undefined ? undefined : relay?.commit,
    relay,
    sandbox,
  };

  async function finish(final: RunOutcome, why: string): Promise<void> {
    await audit("run.finished", { outcome: final, reason: why });
    await enter(final, { reason: why });
    log.info({ outcome: final, reason: why }, "run finished");
  }
}

function defaultEnsureImage(deps: ExecuteRunDeps) {
  return async (agent: AgentDefinition) => {
    const built = await buildAgentImage(deps.runtime, { agent });
    return { ref: built.ref, id: built.image.id };
  };
}

/**
 * The container's whole environment. Nothing from the host's: the run token stands in for
 * both providers' keys, so a real key cannot leak into the sandbox through a forgotten variable.
 */
function agentEnvironment(
  extra: Record<string, string> | undefined,
  token: string,
  model: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(extra ?? {})) {
    if (!/^AIRLOCK_[A-Z0-9_]+$/.test(key)) {
      throw new UsageError(
        `agent setting ${key} is not an AIRLOCK_* variable; only those are passed to the agent`,
      );
    }
    env[key] = value;
  }
  return { ...env, OPENAI_API_KEY: token, ANTHROPIC_API_KEY: token, AIRLOCK_MODEL: model };
}

async function listRunCalls(db: Db, runId: string): Promise<LlmCall[]> {
  return db.select().from(llmCalls).where(eq(llmCalls.runId, runId)).orderBy(asc(llmCalls.id));
}

function commitSubject(outcome: RunOutcome, prompt: string): string {
  const first = prompt.trim().split("\n")[0]?.trim() ?? "";
  const short = first.length > 60 ? `${first.slice(0, 57)}...` : first;
  return `${outcome === "succeeded" ? "" : `[partial: ${outcome}] `}Airlock: ${short}`;
}

function commitBody(outcome: RunOutcome, reason: string, agentSummary: string | undefined): string {
  const parts: string[] = [];
  if (outcome !== "succeeded") {
    parts.push(
      `Partial result: the run ended ${outcome} (${reason}) before the agent finished. These are the files as the agent left them.`,
    );
  }
  parts.push(agentSummary ?? "The agent wrote no summary.");
  return parts.join("\n\n");
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
