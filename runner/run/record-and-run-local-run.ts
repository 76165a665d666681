import { isAbsolute } from "node:path";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { appendAuditEvent } from "../../core/audit/append-audit-event.ts";
import { insertRun } from "../../core/db/runs.ts";
import { UsageError } from "../../core/errors.ts";
import { newRunId } from "../../core/ids.ts";
import type { RunState } from "../../core/run-states.ts";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import { fillOperatorCredentials } from "../relay/fill-operator-credentials.ts";
import type { GitCredentials } from "../relay/git-credentials.ts";
import { redactCredentials } from "../relay/redact-credentials.ts";
import type { RunDeps } from "./run-deps.ts";
import type { RecordedRunInput } from "./recorded-run-input.ts";
import type { RunResult } from "./run-result.ts";
import { runRecordedRun } from "./run-recorded-run.ts";

export interface LocalRunInput {
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
  /** `--grant`: what the operator pre-approves; packages go into the image, domains and hosted tools open for the run. */
  grants?: readonly CapabilitySpec[] | undefined;
  /** How the agent's capability requests are decided (the terminal, --deny-requests); default: all denied. */
  decideRequests?: RecordedRunInput["decideRequests"];
  /** A granted package's rebuild failed (the run goes on without it): shown to the operator. */
  onCapabilityFailed?: RecordedRunInput["onCapabilityFailed"];
}

/** Who approved `--grant` grants, as the ledger and the summary name them. */
export const operatorGrantApprover = "operator (--grant)";

/**
 * One whole run without GitHub (issue 4, `airlock run`): record it (kind "local"), audit
 * `run.started`, then run it as any recorded run (runRecordedRun), on branch
 * `airlock/<run id>` of the given repository.
 */
export async function recordAndRunLocalRun(deps: RunDeps, input: LocalRunInput): Promise<RunResult> {
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
  return runRecordedRun(deps, {
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
    // Nobody reviews a local run: its requests are decided here, never parked.
    decideRequests: input.decideRequests ?? denyAllRequests,
    onCapabilityFailed: input.onCapabilityFailed,
    preapproved:
      input.grants && input.grants.length > 0
        ? { grants: input.grants, approvedBy: operatorGrantApprover }
        : undefined,
  });
}

const denyAllRequests: NonNullable<RecordedRunInput["decideRequests"]> = async (pending) =>
  pending.map((r) => ({
    id: r.id,
    state: "denied" as const,
    by: "airlock run",
    reason: "this run was started without a way to decide requests",
  }));
