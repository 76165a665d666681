import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc, eq } from "drizzle-orm";
import type { Database } from "../../core/db/open-database.ts";
import { runs, type Run } from "../../core/db/schema.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { sandboxLabelKeys } from "../../runner/sandbox/sandbox-labels.ts";
import { startTurnScriptedUpstream } from "../agents/start-turn-scripted-upstream.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch-database.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { startAirlockProcess, type AirlockProcess } from "./start-airlock-process.ts";

export const e2eOwner = "octo-org";
export const e2eTokenSecret = "e2e-token-secret-0123456789abcdef0123456789";
const appId = 4242;
const webhookSecret = "e2e-webhook-secret-0123456789";
const installationId = 777;

/**
 * The world an end-to-end test runs in: the strict GitHub stand-in with one installation,
 * the scripted LLM behind the per-turn script picker, a scratch Postgres database, and the
 * real `airlock app` process wired to them (`env` starts runners the same way).
 */
export interface E2eWorld {
  gh: GitHubStandIn;
  upstream: ScriptedUpstream;
  db: Database["db"];
  env: Record<string, string>;
  app: AirlockProcess;
  runners: AirlockProcess[];
  runtime: ReturnType<typeof createDockerContainerRuntime>;
  /** A repository of the installation with `maintainer` (write), `maintainer2` (write), `reader` (read). */
  newRepo(name: string, files?: Record<string, string>): Promise<string>;
  /** An `airlock runner` process; `env` adds to or overrides the world's (AIRLOCK_RUNNER_CONCURRENCY, say). */
  startRunner(id: string, env?: Record<string, string>): Promise<AirlockProcess>;
  /** The logs of the app and every runner, and the stand-in's violations, for failure messages. */
  diagnostics(): string;
  runsOf(repo: string): Promise<Run[]>;
  getRun(runId: string): Promise<Run | undefined>;
  /** Waits until `probe` gives a value (checked every 250 ms); the message carries the diagnostics. */
  waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function startE2eWorld(
  options: { env?: Record<string, string>; installationPermissions?: Record<string, string> } = {},
): Promise<E2eWorld> {
  const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privateKey = keys.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const publicKeyPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
  const dir = await mkdtemp(join(tmpdir(), "airlock-e2e-"));
  const upstream = await startScriptedUpstream();
  const turns = await startTurnScriptedUpstream(upstream.url);
  const gh = await startGitHubStandIn({ appId, publicKeyPem, webhookSecret, tmpDir: dir });
  gh.createInstallation({
    id: installationId,
    account: e2eOwner,
    ...(options.installationPermissions ? { permissions: options.installationPermissions } : {}),
  });
  const pgUrl = process.env.TEST_DATABASE_URL;
  if (!pgUrl) throw new Error("TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)");
  const scratch: ScratchDatabase = await createScratchDatabase(pgUrl);
  const db = scratch.database.db;
  const env: Record<string, string> = {
    APP_ID: String(appId),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: webhookSecret,
    GITHUB_API_URL: gh.apiUrl,
    DATABASE_URL: scratch.url,
    AIRLOCK_TOKEN_SECRET: e2eTokenSecret,
    OPENAI_BASE_URL: `${turns.url}/v1`,
    OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
    ANTHROPIC_BASE_URL: turns.url,
    ANTHROPIC_API_KEY: scriptedUpstreamDefaults.anthropicApiKey,
    AIRLOCK_DATA_DIR: join(dir, "data"),
    AIRLOCK_LEASE_S: "4",
    // One run at a time per runner, as the tests' flows are written; unset, the default
    // depends on the host's CPUs and free memory (chooseRunnerConcurrency).
    AIRLOCK_RUNNER_CONCURRENCY: "1",
    AIRLOCK_LOG_LEVEL: "info",
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    ...options.env,
  };
  const app = await startAirlockProcess("app", env);
  gh.setWebhookUrl(`${app.url}/api/github/webhooks`);
  const runnerIds: string[] = [];
  const world: E2eWorld = {
    gh,
    upstream,
    db,
    env,
    app,
    runners: [],
    runtime,
    async newRepo(name, files = {}) {
      await gh.createRepo({
        owner: e2eOwner,
        name,
        installationId,
        files: { "README.md": "# demo\n", ...files },
      });
      const full = `${e2eOwner}/${name}`;
      gh.setPermission(full, "maintainer", "write");
      gh.setPermission(full, "maintainer2", "write");
      gh.setPermission(full, "reader", "read");
      return full;
    },
    async startRunner(id, extra = {}) {
      runnerIds.push(id);
      const runner = await startAirlockProcess("runner", { ...env, ...extra, AIRLOCK_RUNNER_ID: id });
      world.runners.push(runner);
      return runner;
    },
    diagnostics: () =>
      `\n--- violations ---\n${JSON.stringify(gh.violations, null, 1)}\n--- app logs ---\n${world.app.logs().slice(-6000)}\n--- runner logs ---\n${world.runners.map((r) => r.logs().slice(-10000)).join("\n")}`,
    runsOf: (repo) => db.select().from(runs).where(eq(runs.repo, repo)).orderBy(asc(runs.createdAt)),
    getRun: async (runId) => (await db.select().from(runs).where(eq(runs.id, runId)))[0],
    waitFor: (what, probe, timeoutMs = 120_000) =>
      waitUntil(what, probe, { timeoutMs, intervalMs: 250 }).catch((error: Error) => {
        throw new Error(`${error.message}${world.diagnostics()}`);
      }),
    async close() {
      for (const r of world.runners) await r.stop("SIGKILL");
      await world.app.stop("SIGKILL");
      for (const id of runnerIds) {
        for (const c of await runtime.listContainers({ [sandboxLabelKeys.runnerId]: id })) {
          await runtime.removeContainer(c.id);
        }
      }
      await turns.close();
      await scratch.drop();
      // Last: each stand-in throws when it saw a request nobody expected or a violation.
      try {
        await upstream.close();
      } finally {
        await gh.close();
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
  return world;
}
