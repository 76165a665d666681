import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { sql } from "drizzle-orm";
import { createAirlockApp } from "../../app/create-airlock-app.ts";
import { createHistoryApp } from "../../app/history/create-history-app.ts";
import { historyBasePath } from "../../app/history/history-html.ts";
import { createRefusalDesk } from "../../app/replies/create-refusal-desk.ts";
import { getRun, sumRunUsage } from "../../core/db/runs.ts";
import { UsageError } from "../../core/errors.ts";
import { createGitHubApp } from "../../core/github/create-github-app.ts";
import { createLaneGitHubApi } from "../../core/github/create-lane-github-api.ts";
import { createOctokitGitHubApi } from "../../core/github/create-octokit-github-api.ts";
import type { Logger } from "../../core/logger.ts";
import { createAirlockMetrics, type AirlockMetrics } from "../../core/metrics/create-airlock-metrics.ts";
import { readStoredFigures } from "../../core/metrics/read-stored-figures.ts";
import { chooseLlmUpstreams } from "../../core/settings/choose-llm-upstreams.ts";
import { requireSettings, type Settings } from "../../core/settings/load-settings.ts";
import type { ContainerRuntime } from "../../runner/container/container-runtime.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { assertEngineReachable } from "../../runner/images/assert-engine-reachable.ts";
import { createImageCheckCache } from "../../runner/images/create-image-check-cache.ts";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";
import { createHostFactSources } from "../../runner/capabilities/create-host-fact-sources.ts";
import type { ProxyUpstreams } from "../../runner/proxy/choose-upstreams.ts";
import { createSharedProxyMetrics } from "../../runner/proxy/create-proxy-metrics.ts";
import { observeSandboxStarts } from "../../runner/sandbox/observe-sandbox-starts.ts";
import { reapContainers } from "../../runner/sandbox/reap-containers.ts";
import { startRunner, type RunnerService } from "../../runner/start-runner.ts";
import type { Database } from "../../core/db/open-database.ts";
import type { CliContext } from "../cli-context.ts";
import { loadPrices } from "./proxy-command.ts";
import { locateCallJournalDir } from "../../runner/proxy/create-call-journal.ts";
import { recoverCallJournals } from "../../runner/proxy/recover-call-journals.ts";

/**
 * The wiring of `airlock up` / `app` / `runner`: settings, database, clients and servers
 * are built here and handed down; the app and the runner modules hold no globals.
 */
export async function serveAirlock(ctx: CliContext, parts: { app: boolean; runner: boolean }): Promise<void> {
  // Probot's registration flow writes the App's credentials to ./.env; variables already set
  // in the environment win over the file.
  if (ctx.env === process.env && existsSync(".env")) process.loadEnvFile(".env");
  const settings = ctx.settings();
  const name = parts.app && parts.runner ? "up" : parts.app ? "app" : "runner";
  const logger = ctx.logger({ command: name });
  const { appId, privateKey, apiUrl } = settings.github;
  if (!parts.app && settings.historyToken !== undefined) {
    // Set, the operator expects the page: a runner alone would ignore it without a word.
    throw new UsageError(
      "AIRLOCK_HISTORY_TOKEN is set, but `airlock runner` serves no run-history page: `airlock app` and `airlock up` serve it at /history. Unset it for the runner",
    );
  }

  if (appId === undefined || privateKey === undefined) {
    if (parts.app && !parts.runner && ctx.env.NODE_ENV !== "production") {
      await offerAppRegistration(ctx, settings, logger);
      return;
    }
    throw new UsageError(
      `airlock ${name} needs the GitHub App's APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH).\n` +
        "  No App yet? Run `airlock app` alone (not in production) from the folder holding app.yml:\n" +
        "  it serves GitHub's register-an-App page and writes the credentials to .env.",
    );
  }
  // The app's own secret is asked for in the same message as the rest; `app` is set exactly
  // when the app part runs.
  const always = ["APP_ID", "PRIVATE_KEY", "AIRLOCK_TOKEN_SECRET"] as const;
  const app = parts.app
    ? requireSettings(settings, [...always, "WEBHOOK_SECRET"], `airlock ${name}`)
    : undefined;
  const { AIRLOCK_TOKEN_SECRET: tokenSecret } = app ?? requireSettings(settings, always, `airlock ${name}`);
  if (name !== "up" && settings.databaseUrl === undefined) {
    // The embedded database belongs to one process: an app and a runner cannot share it.
    throw new UsageError(
      `airlock ${name} runs beside other Airlock processes, which share runs through Postgres: set DATABASE_URL (postgres://…), or run \`airlock up\` for app and runner in one process on the embedded database`,
    );
  }
  const upstreams = parts.runner ? chooseRunnerUpstreams(settings) : {};
  // Set exactly when the runner part runs.
  const runtime: ContainerRuntime | undefined = parts.runner
    ? createDockerContainerRuntime({ dockerHost: settings.dockerHost, logger })
    : undefined;
  if (runtime !== undefined) await assertEngineReachable(runtime);
  const database = await ctx.openMigratedDatabase();
  const metrics = createAirlockMetrics({
    readStoredFigures: () => readStoredFigures(database.db),
    onStoredFiguresError: (error) =>
      logger.warn({ err: (error as Error).message }, "/metrics: could not read the database gauges"),
  });
  const stops: (() => Promise<void>)[] = [];
  try {
    const githubApp = createGitHubApp({ appId, privateKey, apiUrl }, logger);
    const health = (req: IncomingMessage, res: ServerResponse) =>
      serveHealthAndMetrics(req, res, { database, runtime, metrics });

    if (runtime !== undefined) {
      const runnerId = settings.runnerId ?? `${hostname()}-${process.pid}`;
      // Containers this runner id left behind in an earlier life (a crash, a kill -9).
      await reapContainers({ runtime, logger, scope: { runnerId } });
      // Calls a killed runner or proxy on this host left in flight (create-call-journal.ts).
      await recoverCallJournals({
        db: database.db,
        secret: tokenSecret,
        dir: locateCallJournalDir(resolve(settings.dataDir)),
        logger,
      });
      const prices = await loadPrices(ctx.env.AIRLOCK_PRICES_FILE);
      logger.info(
        { concurrency: settings.runner.concurrency, reason: settings.runner.concurrencyReason },
        "runs worked on at once",
      );
      const runner: RunnerService = startRunner({
        db: database.db,
        runtime: observeSandboxStarts(runtime, (seconds) => metrics.sandboxStart.observe(seconds)),
        // Every run's proxy feeds these, so /metrics shows proxy latency and upstream errors across runs.
        proxyMetrics: createSharedProxyMetrics(metrics.registry),
        logger,
        tokenSecret,
        upstreams,
        prices,
        allowedModels: settings.allowedModels,
        egressLimits: settings.egressPorts,
        dataDir: resolve(settings.dataDir),
        ceiling: settings.sandboxCeiling,
        maxDiskMb: settings.maxDiskMb,
        mirrorCache:
          settings.mirrorCache === undefined
            ? undefined
            : { ...settings.mirrorCache, dir: resolve(settings.mirrorCache.dir) },
        runnerId,
        githubApp,
        ensureImage: createImageCheckCache(runtime, {
          ttlMs: 5 * 60_000,
          logger,
          pipIndexUrl: ctx.env.AIRLOCK_PIP_INDEX_URL,
        }),
        pipIndexUrl: ctx.env.AIRLOCK_PIP_INDEX_URL,
        // The facts a capability review shows, gathered on this host (issue 10 §3).
        factSources: createHostFactSources({
          baseImage: baseImageRef(),
          pipIndexUrl: ctx.env.AIRLOCK_PIP_INDEX_URL,
        }),
        leaseS: settings.runner.leaseS,
        concurrency: settings.runner.concurrency,
        observeRunPhase: (phase, agent, seconds) => metrics.runPhase.observe({ phase, agent }, seconds),
        onRunStart: () => metrics.runsActive.inc(),
        onLeaseTakeover: () => metrics.leaseTakeovers.inc(),
        onRunDone: (runId) => {
          metrics.runsActive.dec();
          void observeFinishedRun(database, metrics, runId).catch(() => {});
        },
      });
      stops.push(() => runner.stop());
    }

    if (app !== undefined) {
      const { Probot, Server } = await import("probot");
      // Probot's request log would carry every header (signatures included): ids, method,
      // path and status are enough.
      const probotLog = logger.child(
        { component: "probot" },
        {
          redact: {
            paths: ["req.headers", "res.headers", "req.remoteAddress", "req.remotePort"],
            remove: true,
          },
        },
      );
      const server = new Server({
        Probot: Probot.defaults({
          appId,
          privateKey,
          secret: app.WEBHOOK_SECRET,
          baseUrl: apiUrl,
          log: probotLog,
        }),
        // Probot's server takes 0 for "unset" (3000): a free port is picked here instead.
        port: settings.port === 0 ? await pickFreePort(settings.host) : settings.port,
        host: settings.host,
        webhookProxy: settings.webhookProxyUrl,
        log: probotLog,
        enableStaticFiles: false,
      });
      server.addHandler(async (req, res) => {
        const path = new URL(req.url ?? "/", "http://localhost").pathname;
        if (path !== "/healthz" && path !== "/metrics") return false;
        await health(req, res);
        return true;
      });
      if (settings.historyToken !== undefined) {
        // The run-history pages (issue 13 §2): only with an operators' token set; unset, /history is a 404.
        const { getRequestListener } = await import("@hono/node-server");
        const history = getRequestListener(
          createHistoryApp({ db: database.db, tokenSecret, historyToken: settings.historyToken, logger })
            .fetch,
        );
        server.addHandler(async (req, res) => {
          const path = new URL(req.url ?? "/", "http://localhost").pathname;
          if (path !== historyBasePath && !path.startsWith(`${historyBasePath}/`)) return false;
          await history(req, res);
          return true;
        });
      }
      await server.load(async (app, { addHandler }) => {
        app.onAny((event) => metrics.webhooks.inc({ event: event.name }));
        // Probot's registration flow (app.yml) sets the App's webhook URL to the server's root,
        // so deliveries are accepted there too, with the same signature check and handlers.
        const atRoot = await app.getNodeMiddleware({ path: "/" });
        addHandler(async (req, res) => {
          if (req.method !== "POST" || new URL(req.url ?? "/", "http://localhost").pathname !== "/")
            return false;
          return (await atRoot(req, res)) !== false;
        });
      });
      await server.load(
        createAirlockApp({
          db: database.db,
          logger,
          tokenSecret,
          githubFor: createOctokitGitHubApi,
          refusalGitHubFor: (octokit, installationId) =>
            createLaneGitHubApi(octokit, `airlock-refusals-${installationId}`),
          refusals: createRefusalDesk({ onOutcome: (outcome) => metrics.refusals.inc({ outcome }) }),
        }),
      );
      await server.start();
      stops.unshift(() => server.stop());
      ctx.stdout.write(
        `airlock ${name} listening on http://${settings.host}:${server.port} (webhooks: /api/github/webhooks, /healthz, /metrics${settings.historyToken === undefined ? "" : `, run history: ${historyBasePath}`}; database: ${database.describe})\n`,
      );
    } else {
      const http = createServer((req, res) => void health(req, res));
      await new Promise<void>((ok, fail) => {
        http.once("error", fail);
        http.listen(settings.port, settings.host, () => ok());
      });
      stops.unshift(() => new Promise<void>((ok) => http.close(() => ok())));
      const address = http.address();
      const port = typeof address === "object" && address ? address.port : settings.port;
      ctx.stdout.write(
        `airlock runner working (/healthz and /metrics on http://${settings.host}:${port}; database: ${database.describe})\n`,
      );
    }

    await new Promise<void>((done) => {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });
    logger.info("stopping: no new runs are claimed; runs in hand finish first");
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await database.close();
  }
}

function chooseRunnerUpstreams(settings: Settings): ProxyUpstreams {
  const upstreams = chooseLlmUpstreams(settings);
  if (!upstreams.openai && !upstreams.anthropic) {
    throw new UsageError(
      "a runner needs an LLM to give its agents: set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server such as Ollama or vLLM) and/or ANTHROPIC_API_KEY",
    );
  }
  return upstreams;
}

/**
 * Without credentials, Probot's own setup flow registers a GitHub App from `app.yml` in the
 * working directory and writes APP_ID, PRIVATE_KEY and WEBHOOK_SECRET to `.env`.
 */
async function offerAppRegistration(ctx: CliContext, settings: Settings, logger: Logger): Promise<void> {
  const { run } = await import("probot");
  // Probot would otherwise ask smee.io for a webhook channel: a network call the operator did
  // not ask for. A channel is used when WEBHOOK_PROXY_URL names one.
  process.env.NO_SMEE_SETUP ??= "true";
  ctx.stderr.write(
    `airlock: APP_ID or PRIVATE_KEY is not set, so no GitHub App is configured yet.\n` +
      `  Open http://localhost:${settings.port}/ to register one from app.yml (run this from the folder holding app.yml);\n` +
      `  the credentials are written to .env. Then restart with \`airlock up\` (or \`airlock app\`).\n`,
  );
  const server = await run(() => {}, {
    env: { ...ctx.env, PORT: String(settings.port), HOST: settings.host },
    log: logger.child({ component: "setup" }),
  });
  ctx.stdout.write(
    `airlock app (App registration) listening on http://${settings.host}:${server.port}/probot\n`,
  );
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await server.stop();
}

async function serveHealthAndMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { database: Database; runtime: ContainerRuntime | undefined; metrics: AirlockMetrics },
): Promise<void> {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path === "/metrics") {
    res.writeHead(200, { "content-type": deps.metrics.registry.contentType });
    res.end(await deps.metrics.registry.metrics());
    return;
  }
  if (path !== "/healthz") {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    return;
  }
  const check = async (probe: () => Promise<unknown>) =>
    probe().then(
      () => "ok",
      (error: unknown) => `error: ${(error as Error).message}`,
    );
  const database = await check(() => deps.database.db.execute(sql`select 1`));
  const { runtime } = deps;
  const docker = runtime ? await check(() => runtime.ping()) : "not used";
  const healthy = database === "ok" && (docker === "ok" || docker === "not used");
  res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: healthy ? "ok" : "unhealthy", database, docker }));
}

async function observeFinishedRun(database: Database, metrics: AirlockMetrics, runId: string): Promise<void> {
  const run = await getRun(database.db, runId);
  if (!run?.finishedAt) return;
  const labels = { agent: run.agent ?? "unknown", outcome: run.state };
  metrics.runsFinished.inc(labels);
  metrics.runDuration.observe(labels, (run.finishedAt.getTime() - run.createdAt.getTime()) / 1000);
  if (run.startedAt) metrics.queueWait.observe((run.startedAt.getTime() - run.createdAt.getTime()) / 1000);
  const { total, byModel } = await sumRunUsage(database.db, runId);
  const repo = { repo: run.repo ?? "none" };
  metrics.repoLlmCostUsd.inc(repo, Number(total.costUsd));
  metrics.repoLlmTokens.inc({ ...repo, direction: "in" }, total.inputTokens);
  metrics.repoLlmTokens.inc({ ...repo, direction: "out" }, total.outputTokens);
  for (const row of byModel) {
    const l = { provider: row.provider, model: row.model ?? "unknown" };
    metrics.llmCalls.inc(l, row.calls);
    metrics.llmTokens.inc({ ...l, direction: "in" }, row.inputTokens);
    metrics.llmTokens.inc({ ...l, direction: "out" }, row.outputTokens);
    metrics.llmCostUsd.inc(l, Number(row.costUsd));
  }
}

async function pickFreePort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok, fail) => {
    probe.once("error", fail);
    probe.listen(0, host, () => ok());
  });
  const address = probe.address();
  await new Promise<void>((ok) => probe.close(() => ok()));
  if (typeof address !== "object" || address === null) throw new Error("could not pick a free port");
  return address.port;
}
