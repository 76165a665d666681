import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import type { Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { llmCalls, type LlmCall } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage, type BuiltAgentImage } from "../../runner/images/build-agent-image.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { serveProxyOnSocket } from "../../runner/proxy/serve-proxy.ts";
import { recordAndRunLocalRun, type LocalRunInput } from "../../runner/run/record-and-run-local-run.ts";
import type { RunResult } from "../../runner/run/run-result.ts";
import { runSandboxed, type SandboxResult } from "../../runner/sandbox/run-sandboxed.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";
import { createSourceRepo } from "../helpers/git-repo.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { startTurnScriptedUpstream } from "./start-turn-scripted-upstream.ts";

const logger = createLogger("silent");
const tokenSecret = "test-token-secret-cli-agents-0123456789abcdef";
const ceiling = { memoryMb: 4096, cpus: 2, pids: 1024, timeoutS: 600 };
const netMarker = "airlock-test-netstat";

/**
 * The network counters of the container's own namespace, read by the container itself
 * after the agent exited (/proc/net/snmp and snmp6 are per namespace). With no network
 * but loopback, any attempt to reach another address fails with ENETUNREACH and counts in
 * OutNoRoutes (a DNS query to /etc/resolv.conf's nameserver included); any UDP at all is a
 * DNS query or worse (the bridge and the CLIs speak TCP only); a TCP connection that fails
 * to open went to a loopback port nothing listens on (only the bridge does).
 */
export interface ContainerNetCounters {
  ipOutNoRoutes: number;
  ip6OutNoRoutes: number;
  udpOutDatagrams: number;
  udp6OutDatagrams: number;
  tcpActiveOpens: number;
  /** Connections refused or reset while opening: to a loopback port nothing listens on, say. */
  tcpAttemptFails: number;
}

export interface CliAgentRun {
  result: RunResult;
  calls: LlmCall[];
  stdout: string;
  stderr: string;
  net: ContainerNetCounters;
  wallMs: number;
  /** From the container's start to the first request the upstream saw. */
  firstCallMs: number | undefined;
}

export interface CliAgentHarness {
  agent: AgentDefinition;
  built: BuiltAgentImage;
  buildMs: number;
  upstream: ScriptedUpstream;
  turns: number[];
  database: Database;
  dir: string;
  /** One whole `airlock run` (recordAndRunLocalRun): repo, sandbox, proxy, relay to a branch. */
  runTask(options: {
    files: Record<string, string>;
    prompt: string;
    budgetTokens?: number;
    timeoutS?: number;
    agentEnv?: Record<string, string>;
    /** Shell run after the agent in the same container (e.g. a probe the test wants). */
    after?: string;
    /** How the agent's capability requests are decided (default: denied); the run then resumes. */
    decideRequests?: LocalRunInput["decideRequests"];
  }): Promise<CliAgentRun & { repo: string }>;
  /**
   * The agent's image alone, as the runner starts it (its catalog command, no relay), on
   * the run's socket. `refusedToken`: a token the proxy refuses (expired), which is what a
   * revoked token looks like to the agent.
   */
  runSealed(options: {
    prompt: string;
    timeoutS: number;
    refusedToken?: boolean;
    killGraceMs?: number;
  }): Promise<{
    sandbox: SandboxResult;
    stdout: string;
    stderr: string;
    requests: number;
  }>;
  close(): Promise<void>;
}

/**
 * What a CLI agent's end-to-end tests share: its image (built once, timed), the scripted
 * upstream behind the turn-scripting pass-through, a database, and runs that report the
 * ledger rows, the agent's output and the container's own network counters.
 */
export async function startCliAgentHarness(agentId: string): Promise<CliAgentHarness> {
  const runtime = createDockerContainerRuntime({ logger });
  const agent = getAgent(agentId);
  const buildStarted = Date.now();
  const built = await buildAgentImage(runtime, { agent });
  const buildMs = Date.now() - buildStarted;
  const database = await testDatabaseKinds()[0]!.open();
  const upstream = await startScriptedUpstream();
  const turns = await startTurnScriptedUpstream(upstream.url);
  const dir = await mkdtemp(join(tmpdir(), `airlock-${agentId}-agent-`));
  await chmod(dir, 0o755);
  const upstreams = {
    openai: { baseUrl: `${turns.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
    anthropic: { baseUrl: turns.url, apiKey: scriptedUpstreamDefaults.anthropicApiKey },
  };

  // The catalog's command, followed by the counters probe; the agent's exit code is kept.
  const probedAgent = (after: string | undefined): AgentDefinition => ({
    ...agent,
    command: [
      "/bin/sh",
      "-c",
      `"$@"; rc=$?; ${after ?? ":"}; echo ${netMarker} >&2; cat /proc/net/snmp /proc/net/snmp6 >&2; exit $rc`,
      "agent",
      ...agent.command,
    ],
  });

  return {
    agent,
    built,
    buildMs,
    upstream,
    turns: turns.turns,
    database,
    dir,
    async runTask(options) {
      const repo = await createSourceRepo(
        join(dir, `repo-${Math.random().toString(36).slice(2)}`),
        options.files,
      );
      const stdout = createTextSink();
      const stderr = createTextSink();
      const seen = upstream.requests.length;
      let containerStarted: number | undefined;
      const started = Date.now();
      const input: LocalRunInput = {
        repo,
        agent: agent.id,
        prompt: options.prompt,
        budgetTokens: options.budgetTokens,
        timeoutS: options.timeoutS ?? 180,
        decideRequests: options.decideRequests,
        onProgress: (e) => {
          if (e.state === "running") containerStarted = Date.now();
        },
      };
      const result = await recordAndRunLocalRun(
        {
          db: database.db,
          runtime,
          logger,
          tokenSecret,
          upstreams,
          dataDir: join(dir, "data"),
          ceiling,
          runnerId: `test-${agent.id}-${process.pid}`,
          catalog: [probedAgent(options.after)],
          ensureImage: () => Promise.resolve({ ref: built.ref, id: built.image.id }),
          proxyRetry: { maxRetries: 0 },
          agentEnv: options.agentEnv,
          agentStdout: stdout,
          agentStderr: stderr,
        },
        input,
      );
      const wallMs = Date.now() - started;
      const first = upstream.requests[seen];
      const calls = await database.db
        .select()
        .from(llmCalls)
        .where(eq(llmCalls.runId, result.runId))
        .orderBy(llmCalls.id);
      return {
        repo,
        result,
        calls,
        stdout: stdout.text(),
        stderr: stderr.text(),
        net: readNetCounters(stderr.text()),
        wallMs,
        firstCallMs:
          first !== undefined && containerStarted !== undefined ? first.at - containerStarted : undefined,
      };
    },
    async runSealed(options) {
      const runId = newRunId();
      await ensureRun(database.db, { id: runId, kind: "manual", state: "running", agent: agent.id });
      const token = mintRunToken({
        runId,
        attempt: 0,
        expiresAt: Math.floor(Date.now() / 1000) + (options.refusedToken ? -60 : 600),
        secret: tokenSecret,
      });
      const workspace = join(dir, `${runId}-workspace`);
      const socketDir = join(dir, `${runId}-socket`);
      await mkdir(join(workspace, ".airlock"), { recursive: true });
      await writeFile(join(workspace, ".airlock", "task.md"), options.prompt);
      for (const path of [workspace, join(workspace, ".airlock"), join(workspace, ".airlock", "task.md")])
        await chown(path, 1001, 1001);
      await mkdir(socketDir, { mode: 0o755 });
      await chmod(socketDir, 0o755);
      const seen = upstream.requests.length;
      const proxy = await serveProxyOnSocket({
        socketPath: join(socketDir, "llm.sock"),
        runId,
        db: database.db,
        tokenSecret,
        upstreams,
        retry: { maxRetries: 0 },
        logger,
      });
      try {
        const stdout = createTextSink();
        const stderr = createTextSink();
        const sandbox = await runSandboxed({
          runtime,
          logger,
          image: built.ref,
          argv: [...agent.command],
          limits: { ...agent.defaultLimits, timeoutS: options.timeoutS },
          ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
          ceiling,
          runId,
          runnerId: `test-${agent.id}-${process.pid}`,
          workspaceDir: workspace,
          socketDir,
          env: { OPENAI_API_KEY: token, ANTHROPIC_API_KEY: token, AIRLOCK_MODEL: agent.defaultModel },
          stdout,
          stderr,
        });
        return {
          sandbox,
          stdout: stdout.text(),
          stderr: stderr.text(),
          requests: upstream.requests.length - seen,
        };
      } finally {
        await proxy.close();
      }
    },
    async close() {
      await turns.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
      // Last: it throws when the upstream saw a request nobody expected.
      await upstream.close();
    },
  };
}

function readNetCounters(stderr: string): ContainerNetCounters {
  const at = stderr.lastIndexOf(`${netMarker}\n`);
  if (at === -1) throw new Error(`the container printed no network counters:\n${stderr.slice(-2000)}`);
  const text = stderr.slice(at);
  const snmp = (proto: string, field: string): number => {
    const lines = text.split("\n").filter((l) => l.startsWith(`${proto}: `));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    const index = names.indexOf(field);
    if (index === -1) throw new Error(`no ${proto} ${field} in the container's /proc/net/snmp`);
    return Number(values[index]);
  };
  const snmp6 = (field: string): number => {
    const match = new RegExp(`^${field}\\s+(\\d+)$`, "m").exec(text);
    if (!match) throw new Error(`no ${field} in the container's /proc/net/snmp6`);
    return Number(match[1]);
  };
  return {
    ipOutNoRoutes: snmp("Ip", "OutNoRoutes"),
    ip6OutNoRoutes: snmp6("Ip6OutNoRoutes"),
    udpOutDatagrams: snmp("Udp", "OutDatagrams"),
    udp6OutDatagrams: snmp6("Udp6OutDatagrams"),
    tcpActiveOpens: snmp("Tcp", "ActiveOpens"),
    tcpAttemptFails: snmp("Tcp", "AttemptFails"),
  };
}
