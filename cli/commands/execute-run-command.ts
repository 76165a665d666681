import { access, mkdir, realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { getAgent } from "../../core/agents/get-agent.ts";
import { UsageError } from "../../core/errors.ts";
import { createLogger } from "../../core/logger.ts";
import { chooseLlmUpstreams } from "../../core/settings/choose-llm-upstreams.ts";
import { requireSettings, type Settings } from "../../core/settings/load-settings.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { assertEngineReachable } from "../../runner/images/assert-engine-reachable.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { buildGrantedImage } from "../../runner/images/build-granted-image.ts";
import { formatImageGrant } from "../../runner/images/image-grant.ts";
import type { ProxyUpstreams } from "../../runner/proxy/choose-upstreams.ts";
import { locateCallJournalDir } from "../../runner/proxy/create-call-journal.ts";
import { recoverCallJournals } from "../../runner/proxy/recover-call-journals.ts";
import type { RunOutcome } from "../../runner/run/decide-run-outcome.ts";
import { demoModelId, startDemoModel, type DemoModel } from "../../runner/run/demo-model.ts";
import { acquireRunSlot, type RunSlot } from "../../runner/run/acquire-run-slot.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import { readRunProgress } from "../../core/db/runs.ts";
import { parseGitRemote } from "../../runner/relay/parse-git-remote.ts";
import { reapContainers } from "../../runner/sandbox/reap-containers.ts";
import type { CliContext } from "../cli-context.ts";
import { parseRunGrantFlags } from "../parse-grant-flags.ts";
import { createLocalDecider } from "../create-local-decider.ts";
import { loadPrices } from "./proxy-command.ts";

export interface RunFlags {
  repo: string;
  agent: string;
  prompt: string;
  model?: string;
  budgetUsd?: string;
  budgetTokens?: string;
  timeout?: string;
  grant?: string[];
  denyRequests?: boolean;
}

/** Non-zero exits name the outcome; 124 and 130 follow timeout(1) and the shells. */
const exitCodes: Record<RunOutcome, number> = {
  succeeded: 0,
  failed: 1,
  budget_exhausted: 3,
  disk_limit: 4,
  timed_out: 124,
  cancelled: 130,
  capability_timeout: 75,
};

export async function runCommand(ctx: CliContext, flags: RunFlags): Promise<number> {
  // 1. Everything an operator can get wrong is checked before Docker or the database is touched.
  const agent = getAgent(flags.agent);
  const budgetUsd = parsePositive(flags.budgetUsd, "--budget-usd", false);
  const budgetTokens = parsePositive(flags.budgetTokens, "--budget-tokens", true);
  const timeoutS = parsePositive(flags.timeout, "--timeout", true);
  const grants = parseRunGrantFlags(flags.grant);
  if (grants.some((g) => g.kind === "pip") && !ctx.env.AIRLOCK_PIP_INDEX_URL) {
    throw new UsageError(
      "--grant pip:… needs AIRLOCK_PIP_INDEX_URL, the simple index pip installs from (reachable from Docker's build network)",
    );
  }
  const settings = ctx.settings();
  const { AIRLOCK_TOKEN_SECRET: tokenSecret } = requireSettings(
    settings,
    ["AIRLOCK_TOKEN_SECRET"],
    "airlock run (it signs the run token and the audit ledger)",
  );
  // AIRLOCK_PRICES_FILE adds or overrides model prices, as for `airlock proxy` and the runner.
  const prices = await loadPrices(ctx.env.AIRLOCK_PRICES_FILE);
  const remote = parseGitRemote(flags.repo);
  if (remote.kind === "path") {
    await access(remote.location).catch(() => {
      throw new UsageError(
        `--repo ${flags.repo}: no such folder; give the path of a git repository or a git URL`,
      );
    });
  }
  const level = ctx.env.AIRLOCK_LOG_LEVEL ? settings.logLevel : "warn";
  const logger = createLogger(level, { command: "run" });
  const interactive = (ctx.stderr as Writable & { isTTY?: boolean }).isTTY === true;
  const say = (line: string) => ctx.stderr.write(`airlock: ${line}\n`);
  if (process.getuid !== undefined && process.getuid() !== 0) {
    // prepareRunCheckout hands the workspace to the sandbox user (1001) only as root.
    say(
      `warning: running as uid ${process.getuid()}, not root: the workspace stays yours and the ` +
        "sandboxed agent (uid 1001) cannot write to it; run airlock run as root (e.g. sudo -E)",
    );
  }
  const runtime = createDockerContainerRuntime({ dockerHost: settings.dockerHost, logger });
  // No run is recorded for a machine that cannot run one.
  await assertEngineReachable(runtime);

  // 2. The upstream: the operator's LLM, or the scripted demo model, said plainly.
  const upstreams: ProxyUpstreams = chooseLlmUpstreams(settings);
  let demo: DemoModel | undefined;
  let model = flags.model;
  const demoNotice =
    "no LLM configured: using Airlock's scripted demo model (it does not read your code; it only " +
    "shows a whole run). Set OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama, vLLM or another " +
    "OpenAI-compatible server) or ANTHROPIC_API_KEY to use a real model.";
  if (!upstreams.openai && !upstreams.anthropic) {
    if (agent.api !== "openai") {
      throw new UsageError(
        `agent ${agent.id} speaks the ${agent.api} API and the demo model only speaks OpenAI's; set ANTHROPIC_API_KEY`,
      );
    }
    demo = await startDemoModel();
    upstreams.openai = { baseUrl: demo.baseUrl, apiKey: demo.apiKey };
    model ??= demoModelId;
    say(demoNotice);
  }

  const controller = new AbortController();
  let waitingForSlot = true;
  const onSignal = () => {
    if (!controller.signal.aborted && !waitingForSlot)
      say("cancelling: stopping the agent (the run is recorded as cancelled)");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let slot: RunSlot;
  try {
    slot = await waitForRunSlot(settings, controller.signal, say);
  } catch (error) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await demo?.close();
    if (!controller.signal.aborted) throw error;
    say("cancelled while waiting for a run slot; nothing was recorded");
    return exitCodes.cancelled;
  }
  waitingForSlot = false;
  const database = await ctx.openMigratedDatabase().catch(async (error: unknown) => {
    await slot.release();
    throw error;
  });
  const startedAt = Date.now();
  let runId: string | undefined;
  let state = "queued";
  let lastCalls = -1;
  let drawn = false;
  let stopped = false;
  let asking = false;
  const draw = async () => {
    if (runId === undefined) return;
    const p = await readRunProgress(database.db, runId);
    // A read still in flight when the run ended must not redraw over the summary, nor the
    // progress line over a question asked on the terminal.
    if (stopped || asking) return;
    const elapsed = ((Date.now() - startedAt) / 1000).toFixed(0);
    const line =
      `run ${runId} ${p.state ?? state} ${elapsed}s · ${p.calls} LLM calls · ` +
      `${p.inputTokens} in / ${p.outputTokens} out tokens · $${Number(p.costUsd).toFixed(4)}`;
    if (interactive) {
      ctx.stderr.write(`\r\x1b[2K${line}`);
      drawn = true;
    } else if (p.calls !== lastCalls) {
      lastCalls = p.calls;
      say(line);
    }
  };
  const timer = setInterval(() => void draw().catch(() => {}), 1000);
  const decide = createLocalDecider({
    denyAll: flags.denyRequests === true,
    input: process.stdin,
    output: ctx.stderr,
  });
  try {
    // Leftovers of crashed `airlock run` processes on this host (DESIGN §4: the reaper).
    await reapContainers({ runtime, logger, scope: { deadOwnersOnThisHost: true } }).catch(() => []);
    // Calls a killed `airlock run` (or runner, or proxy) sharing this data folder left in flight
    // (create-call-journal.ts): recorded, whole reservation charged, before this run starts.
    await recoverCallJournals({
      db: database.db,
      secret: tokenSecret,
      dir: locateCallJournalDir(resolve(settings.dataDir)),
      logger,
    }).catch((error: unknown) => {
      // Not this run's fault: it goes ahead, and the journal is kept for the next start.
      // The database's own words, not the query the driver wraps them in.
      let root = error as Error;
      while (root.cause instanceof Error) root = root.cause;
      const why = root === error ? "" : ` (${root.message.split("\n")[0]})`;
      say(`${(error as Error).message}${why}; this run goes ahead`);
    });
    const result = await recordAndRunLocalRun(
      {
        db: database.db,
        runtime,
        logger,
        tokenSecret,
        upstreams,
        prices: demo ? { ...prices, [demoModelId]: { input: 0, output: 0 } } : prices,
        allowedModels: settings.allowedModels,
        egressLimits: settings.egressPorts,
        dataDir: resolve(settings.dataDir),
        ceiling: settings.sandboxCeiling,
        maxDiskMb: settings.maxDiskMb,
        mirrorCache:
          settings.mirrorCache === undefined
            ? undefined
            : { ...settings.mirrorCache, dir: resolve(settings.mirrorCache.dir) },
        runnerId: settings.runnerId ?? "local",
        ensureImage: async (a, granted) => {
          const onProgress = (line: string) => {
            // Docker's step-by-step lines are noise here; `airlock images build` shows them.
            if (!interactive && !/^\s*(Step \d|--->)/.test(line)) say(`image: ${line}`);
          };
          if (granted.length > 0) {
            const built = await buildGrantedImage(runtime, {
              agent: a,
              grants: granted,
              logger,
              pipIndexUrl: ctx.env.AIRLOCK_PIP_INDEX_URL,
              onProgress,
            });
            say(
              `image ${built.ref} with ${built.grants.map(formatImageGrant).join(", ")} (approved by you, --grant)`,
            );
            return { ref: built.ref, id: built.image.id, grants: built.grants, sbomDelta: built.sbomDelta };
          }
          const built = await buildAgentImage(runtime, { agent: a, onProgress });
          return { ref: built.ref, id: built.image.id };
        },
        signal: controller.signal,
        agentStderr: interactive ? undefined : prefixLines(ctx.stderr, "agent: "),
      },
      {
        repo: flags.repo,
        agent: agent.id,
        prompt: flags.prompt,
        model,
        budgetUsd,
        budgetTokens,
        timeoutS,
        grants,
        decideRequests: async (pending) => {
          asking = true;
          try {
            return await decide(pending);
          } finally {
            asking = false;
          }
        },
        onCapabilityFailed: async (request, logTail) => {
          say(
            `the image rebuild for ${request.kind}:${request.name} failed; the run goes on without it. End of the build log:\n${logTail}`,
          );
        },
        onProgress: (event) => {
          runId = event.runId;
          state = event.state;
          if (!interactive) say(`run ${event.runId} ${event.state}`);
          void draw().catch(() => {});
        },
      },
    );
    clearInterval(timer);
    stopped = true;
    if (drawn) ctx.stderr.write("\r\x1b[2K");
    if (demo) ctx.stdout.write(`> **Note:** ${demoNotice}\n\n`);
    ctx.stdout.write(result.summaryMarkdown);
    if (result.branch) {
      say(`branch ${result.branch} (${result.commit ?? ""}) pushed to ${flags.repo}`);
    }
    if (result.outcome !== "succeeded") {
      say(`run ${result.runId} ended ${result.outcome}: ${result.reason}`);
    }
    if (demo) say(demoNotice);
    // A local run decides its requests in place, so it never stays parked; 75 (EX_TEMPFAIL) if it did.
    return result.outcome === "awaiting_approval" ? 75 : exitCodes[result.outcome];
  } finally {
    clearInterval(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await demo?.close();
    await database.close();
    await slot.release();
  }
}

/**
 * Waits for one of the host's run slots (issue 15): `airlock run` processes that share a data
 * folder run at most AIRLOCK_RUNNER_CONCURRENCY at once (default: what the host carries), so
 * sixteen started together take turns instead of fighting over two CPUs and the Docker
 * engine. On the embedded database the folder's database is one process's (PGlite aborts
 * when a second opens it), so its runs go one at a time.
 */
async function waitForRunSlot(
  settings: Settings,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<RunSlot> {
  const dataDir = resolve(settings.dataDir);
  await mkdir(dataDir, { recursive: true });
  const embedded = settings.databaseUrl === undefined;
  const slots = embedded ? 1 : settings.runner.concurrency;
  return acquireRunSlot({
    key: await realpath(dataDir),
    slots,
    signal,
    onWait: (holders) =>
      say(
        embedded
          ? `waiting for the embedded database in ${dataDir}: another airlock run (pid ${holders.join(", ") || "unknown"}) is using it, and it is one process's; this run starts when that one ends (set DATABASE_URL to run them side by side)`
          : `waiting for a run slot: ${slots === 1 ? "another airlock run" : `${slots} airlock runs`} sharing ${dataDir} already ${slots === 1 ? "works" : "work"} (pid ${holders.join(", ") || "unknown"}); this run starts when ${slots === 1 ? "it ends" : "one ends"} (AIRLOCK_RUNNER_CONCURRENCY, ${settings.runner.concurrencyReason})`,
      ),
  });
}

function parsePositive(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(value) || !(n > 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} must be a positive ${integer ? "integer" : "number"}, got "${value}"`);
  }
  return n;
}

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** The agent's own stderr as log lines; it holds no secret (the agent never sees one). */
function prefixLines(sink: Writable, prefix: string): Writable {
  let pending = "";
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      // The agent's output is untrusted: terminal escape sequences are dropped, not replayed.
      for (const line of lines) sink.write(`${prefix}${line.replace(controlCharacters, "")}\n`);
      callback();
    },
  });
}
