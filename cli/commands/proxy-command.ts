import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { chooseLlmUpstreams } from "../../core/settings/choose-llm-upstreams.ts";
import { requireSettings } from "../../core/settings/load-settings.ts";
import type { ProxyUpstreams } from "../../runner/proxy/choose-upstreams.ts";
import { parseProxyConfig, type ProxyConfig } from "../../runner/proxy/parse-proxy-config.ts";
import { defaultPriceTable, parsePriceFile, type PriceTable } from "../../runner/proxy/price-table.ts";
import type { serveProxyOnPort } from "../../runner/proxy/serve-proxy.ts";
import type { CliContext } from "../cli-context.ts";

interface ProxyOptions {
  port: string;
  host: string;
  maxConcurrency: string;
  recordInProcess?: boolean;
}

/** Read a JSON or YAML file an environment variable names; undefined when the variable is unset. */
async function readConfigFile(variable: string, path: string | undefined): Promise<unknown> {
  if (!path) return undefined;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`${variable}: cannot read ${path} (${(error as Error).message})`, { cause: error });
  }
  const { parse: parseYaml } = await import("yaml");
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new UsageError(`${variable}: ${path} is not JSON or YAML (${(error as Error).message})`, {
      cause: error,
    });
  }
}

export async function loadPrices(path: string | undefined): Promise<PriceTable> {
  const data = await readConfigFile("AIRLOCK_PRICES_FILE", path);
  if (data === undefined) return defaultPriceTable;
  try {
    return { ...defaultPriceTable, ...parsePriceFile(data, `AIRLOCK_PRICES_FILE ${path}`) };
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

async function loadProxyConfig(path: string | undefined, env: NodeJS.ProcessEnv): Promise<ProxyConfig> {
  const data = await readConfigFile("AIRLOCK_PROXY_CONFIG", path);
  try {
    return parseProxyConfig(data, `AIRLOCK_PROXY_CONFIG ${path ?? ""}`.trim(), env);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

export function registerProxyCommand(program: Command, ctx: CliContext): void {
  program
    .command("proxy")
    .description("serve the metered LLM proxy on TCP (shared-proxy mode, benchmarks); /metrics beside it")
    .requiredOption("--port <n>", "TCP port")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--max-concurrency <n>", "requests of one run in flight at once", "256")
    .option(
      "--record-in-process",
      "record calls on the serving thread, not in a worker thread (on Postgres the default is a worker; this is for comparison)",
    )
    .action(async (options: ProxyOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(`--port must be a TCP port number, got ${options.port}`);
      }
      const maxConcurrentPerRun = Number(options.maxConcurrency);
      if (!Number.isInteger(maxConcurrentPerRun) || maxConcurrentPerRun < 1) {
        throw new UsageError(`--max-concurrency must be a positive integer, got ${options.maxConcurrency}`);
      }
      const settings = ctx.settings();
      const { AIRLOCK_TOKEN_SECRET: tokenSecret } = requireSettings(
        settings,
        ["AIRLOCK_TOKEN_SECRET"],
        "airlock proxy",
      );
      const config = await loadProxyConfig(ctx.env.AIRLOCK_PROXY_CONFIG, ctx.env);
      const chosen = chooseLlmUpstreams(settings);
      const upstreams: ProxyUpstreams = { ...chosen, extra: config.extra };
      // The operator's organization / project for the OPENAI_* upstream (AIRLOCK_PROXY_CONFIG).
      if (chosen.openai) upstreams.openai = { ...chosen.openai, ...config.openai };
      if (!upstreams.openai && !upstreams.anthropic && Object.keys(config.extra).length === 0) {
        throw new UsageError(
          "airlock proxy has no upstream to forward to: set OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server such as Ollama or vLLM) and/or ANTHROPIC_API_KEY, or list upstreams in AIRLOCK_PROXY_CONFIG",
        );
      }
      const prices = await loadPrices(ctx.env.AIRLOCK_PRICES_FILE);
      const logger = ctx.logger({ component: "proxy" });
      // Loaded on use, so that other commands do not pay for the proxy's HTTP stack.
      const { serveProxyOnPort: serve } = await import("../../runner/proxy/serve-proxy.ts");
      const database = await ctx.openMigratedDatabase();
      const { locateCallJournalDir } = await import("../../runner/proxy/create-call-journal.ts");
      const { recoverCallJournals } = await import("../../runner/proxy/recover-call-journals.ts");
      // An in-memory database keeps nothing across a restart: no journal to recover into it.
      const callJournalDir =
        settings.dataDir === "memory://" ? undefined : locateCallJournalDir(resolve(settings.dataDir));
      let served: Awaited<ReturnType<typeof serveProxyOnPort>>;
      try {
        // Calls a killed proxy or runner on this host left in flight, before serving new ones.
        if (callJournalDir) {
          await recoverCallJournals({ db: database.db, secret: tokenSecret, dir: callJournalDir, logger });
        }
        served = await serve({
          port,
          callJournalDir,
          host: options.host,
          db: database.db,
          // On Postgres the calls are recorded in a worker thread, beside the requests (issue 9 §8).
          ...(database.url && !options.recordInProcess
            ? { recordInWorker: { databaseUrl: database.url } }
            : {}),
          tokenSecret,
          upstreams,
          ...(config.routing ? { routing: config.routing } : {}),
          fallback: config.fallback,
          prices,
          allowedModels: settings.allowedModels,
          logger,
          budget: { maxConcurrentPerRun },
        });
      } catch (error) {
        await database.close();
        throw error;
      }
      ctx.stdout.write(
        `airlock proxy listening on http://${served.host}:${served.port} (upstreams: ${[...Object.keys(upstreams).filter((k) => k !== "extra"), ...Object.keys(config.extra)].join(", ")}; audit: ${database.describe})\n`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      logger.info("stopping: flushing call records");
      try {
        await served.close();
      } finally {
        await database.close();
      }
    });
}
