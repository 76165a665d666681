import { readFileSync } from "node:fs";
import { z } from "zod";
import { UsageError } from "../errors.ts";
import { chooseRunnerConcurrency, type HostCapacity } from "./choose-runner-concurrency.ts";
import { readHostCapacity } from "./read-host-capacity.ts";

/**
 * Every setting Airlock reads from the environment, validated in one place.
 * Format problems in *any* variable are reported together; whether a variable is
 * *required* depends on the command and is checked by `requireSettings`.
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const url = (what: string) =>
  optionalString.refine((v) => v === undefined || URL.canParse(v), {
    message: `must be a URL (${what})`,
  });

const positiveInt = (what: string) =>
  optionalString
    .refine((v) => v === undefined || /^[1-9][0-9]*$/.test(v), {
      message: `must be a positive integer (${what})`,
    })
    .transform((v) => (v === undefined ? undefined : Number(v)));

const tcpPort = (what: string) =>
  optionalString
    .refine((v) => v === undefined || (/^[0-9]{1,5}$/.test(v) && Number(v) <= 65535), {
      message: `must be a TCP port, 0 to 65535 (${what}; 0 picks a free one)`,
    })
    .transform((v) => (v === undefined ? undefined : Number(v)));

/** A comma-separated list of ports 1-65535, or `none` for an empty list; unset = the default. */
const portList = (what: string) =>
  optionalString
    .refine(
      (v) =>
        v === undefined ||
        v.trim() === "none" ||
        v.split(",").every((p) => /^[0-9]{1,5}$/.test(p.trim()) && Number(p) >= 1 && Number(p) <= 65535),
      { message: `must be a comma-separated list of TCP ports 1-65535, or none (${what})` },
    )
    .transform((v) =>
      v === undefined
        ? undefined
        : v.trim() === "none"
          ? []
          : [...new Set(v.split(",").map((p) => Number(p)))],
    );

const envSchema = z.object({
  APP_ID: positiveInt("the GitHub App's numeric id"),
  PRIVATE_KEY: optionalString,
  PRIVATE_KEY_PATH: optionalString,
  WEBHOOK_SECRET: optionalString,
  GITHUB_API_URL: url("GitHub's REST API, e.g. https://api.github.com or https://ghe.example/api/v3"),
  DATABASE_URL: optionalString.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
    message: "must be a postgres:// or postgresql:// URL (unset it to use the embedded database)",
  }),
  AIRLOCK_DATA_DIR: optionalString,
  DOCKER_HOST: optionalString,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url("an OpenAI-compatible API base, e.g. http://localhost:11434/v1"),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: url("an Anthropic-compatible API base"),
  AIRLOCK_TOKEN_SECRET: optionalString.refine((v) => v === undefined || v.length >= 32, {
    message: "must be at least 32 characters (generate one with: openssl rand -hex 32)",
  }),
  AIRLOCK_RUNNER_ID: optionalString,
  AIRLOCK_LOG_LEVEL: optionalString.refine(
    (v) => v === undefined || ["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(v),
    { message: "must be one of fatal, error, warn, info, debug, trace, silent" },
  ),
  AIRLOCK_MAX_MEMORY_MB: positiveInt("operator ceiling for a sandbox's memory, in MiB"),
  AIRLOCK_MAX_CPUS: optionalString
    .refine((v) => v === undefined || (/^[0-9]+(\.[0-9]+)?$/.test(v) && Number(v) > 0), {
      message: "must be a positive number of CPUs, e.g. 2 or 0.5",
    })
    .transform((v) => (v === undefined ? undefined : Number(v))),
  AIRLOCK_MAX_PIDS: positiveInt("operator ceiling for a sandbox's process count"),
  AIRLOCK_MAX_TIMEOUT_S: positiveInt("operator ceiling for a sandbox's deadline, in seconds"),
  AIRLOCK_MAX_DISK_MB: positiveInt("a run's workspace disk cap, in MiB (at least 8)").refine(
    (mb) => mb === undefined || mb >= 8,
    { message: "must be at least 8 (MiB): the workspace's own filesystem needs room for its metadata" },
  ),
  AIRLOCK_MIRROR_DIR: optionalString,
  AIRLOCK_MIRROR_CACHE_MB: optionalString
    .refine((v) => v === undefined || /^(0|[1-9][0-9]*)$/.test(v), {
      message:
        "must be a whole number of MiB (the repository mirror cache's size cap; 0 turns the cache off)",
    })
    .transform((v) => (v === undefined ? undefined : Number(v))),
  PORT: tcpPort("the HTTP port for `airlock app`, `airlock up` and a runner's /healthz and /metrics"),
  HOST: optionalString,
  WEBHOOK_PROXY_URL: url("a webhook relay channel for development, e.g. a smee channel URL"),
  AIRLOCK_LEASE_S: positiveInt("seconds a runner's claim on a run holds without renewal"),
  AIRLOCK_RUNNER_CONCURRENCY: positiveInt(
    "runs one runner process works on at once, and `airlock run` processes sharing a data folder; unset: what the host carries",
  ),
  AIRLOCK_ALLOWED_MODELS: optionalString
    .refine((v) => v === undefined || /^[A-Za-z0-9._:/*-]+(\s*,\s*[A-Za-z0-9._:/*-]+)*$/.test(v.trim()), {
      message: "must be a comma-separated list of model ids or globs, e.g. gpt-4.1-mini,claude-*",
    })
    .transform((v) => (v === undefined ? [] : v.split(",").map((m) => m.trim()))),
  AIRLOCK_EGRESS_CONNECT_PORTS: portList("ports a run's egress proxy opens CONNECT tunnels to; default 443"),
  AIRLOCK_EGRESS_HTTP_PORTS: portList("ports a run's egress proxy forwards plain HTTP to; default 80"),
  AIRLOCK_HISTORY_TOKEN: optionalString.refine((v) => v === undefined || v.trim().length >= 32, {
    message:
      "must be at least 32 characters (generate one with: openssl rand -hex 32); unset it to keep the run-history page off",
  }),
});

/**
 * Settings earlier versions accepted and never acted on. Set, each is refused at start-up
 * with the reason: an operator who asks for gVisor, another image or no seccomp must not
 * get the default silently (issue 14).
 */
const unsupportedSettings: Readonly<Record<string, string>> = {
  AIRLOCK_AGENT_IMAGE:
    "is not supported: the agent's image comes from the agent catalog and the repository's approved capabilities (`airlock images build`); unset it",
  AIRLOCK_SANDBOX_RUNTIME:
    "is not supported: sandboxes run on Docker's default runtime with Airlock's own seccomp profile and limits; unset it",
  AIRLOCK_ALLOW_UNSAFE_NO_SECCOMP:
    "is not supported: every sandbox runs with Airlock's seccomp profile, and a host that cannot apply it does not run agents; unset it",
};

type RawSettings = z.infer<typeof envSchema>;

/** An LLM provider's settings; `baseUrl` has the provider's default when not set. */
export interface ProviderSettings {
  apiKey: string | undefined;
  baseUrl: string;
  /** OPENAI_BASE_URL / ANTHROPIC_BASE_URL was set: a server that needs no key (Ollama, vLLM) counts as configured. */
  baseUrlSet: boolean;
}

export interface Settings {
  github: {
    appId: number | undefined;
    privateKey: string | undefined;
    webhookSecret: string | undefined;
    apiUrl: string;
  };
  databaseUrl: string | undefined;
  dataDir: string;
  dockerHost: string | undefined;
  openai: ProviderSettings;
  anthropic: ProviderSettings;
  tokenSecret: string | undefined;
  runnerId: string | undefined;
  logLevel: string;
  port: number;
  /** Interface `airlock app` listens on (default all interfaces: GitHub must reach it). */
  host: string;
  webhookProxyUrl: string | undefined;
  runner: {
    leaseS: number;
    /** AIRLOCK_RUNNER_CONCURRENCY, or what the host carries (chooseRunnerConcurrency). */
    concurrency: number;
    /** Where `concurrency` came from, for the start-up log. */
    concurrencyReason: string;
  };
  sandboxCeiling: { memoryMb: number; cpus: number; pids: number; timeoutS: number };
  /** AIRLOCK_MAX_DISK_MB: each run's workspace is a filesystem of this size; undefined = no cap. */
  maxDiskMb: number | undefined;
  /**
   * Issue 15: one git mirror per repository in `dir` (AIRLOCK_MIRROR_DIR, default
   * `<dataDir>/mirrors`), least recently used evicted past `maxMb` (AIRLOCK_MIRROR_CACHE_MB,
   * default 10240); undefined when AIRLOCK_MIRROR_CACHE_MB=0: every run clones in full.
   */
  mirrorCache: { dir: string; maxMb: number } | undefined;
  /** Models every run may call, besides its agent's and its repository's (AIRLOCK_ALLOWED_MODELS). */
  allowedModels: string[];
  /**
   * Ports each run's egress proxy opens to granted domains (AIRLOCK_EGRESS_CONNECT_PORTS,
   * AIRLOCK_EGRESS_HTTP_PORTS); undefined = the proxy's defaults (443; 80).
   */
  egressPorts: { connectPorts: number[] | undefined; httpPorts: number[] | undefined };
  /**
   * The operators' token for the run-history page (AIRLOCK_HISTORY_TOKEN, issue 13 §2).
   * Unset, the page is not served at all: it shows every repository's runs.
   */
  historyToken: string | undefined;
}

/**
 * Parse and validate the environment. Throws a UsageError listing every problem at once.
 * `host` sizes the defaults that depend on the machine (the runner's concurrency).
 */
export function loadSettings(
  env: NodeJS.ProcessEnv = process.env,
  host: HostCapacity = readHostCapacity(),
): Settings {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${String(issue.path[0] ?? "environment")}: ${issue.message}`);
    }
  }
  for (const [name, why] of Object.entries(unsupportedSettings)) {
    const value = (env[name] ?? "").trim();
    // "No, keep seccomp" is what Airlock does anyway: honoured, not refused.
    const asksForDefault = name === "AIRLOCK_ALLOW_UNSAFE_NO_SECCOMP" && /^(0|false|no)$/i.test(value);
    if (value !== "" && !asksForDefault) problems.push(`${name}: ${why}`);
  }
  const raw: RawSettings | undefined = parsed.success ? parsed.data : undefined;
  let privateKey: string | undefined;
  if (raw?.PRIVATE_KEY !== undefined) {
    // Env files often carry the PEM with literal "\n".
    privateKey = raw.PRIVATE_KEY.replace(/\\n/g, "\n");
  } else if (raw?.PRIVATE_KEY_PATH !== undefined) {
    try {
      privateKey = readFileSync(raw.PRIVATE_KEY_PATH, "utf8");
    } catch (error) {
      problems.push(`PRIVATE_KEY_PATH: cannot read ${raw.PRIVATE_KEY_PATH} (${(error as Error).message})`);
    }
  }
  if (privateKey !== undefined && !privateKey.includes("PRIVATE KEY-----")) {
    problems.push(
      `${raw?.PRIVATE_KEY !== undefined ? "PRIVATE_KEY" : "PRIVATE_KEY_PATH"}: must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)`,
    );
  }
  if (problems.length > 0 || raw === undefined) {
    throw new UsageError(`invalid environment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  const maxMemoryMb = raw.AIRLOCK_MAX_MEMORY_MB ?? 4096;
  const concurrency =
    raw.AIRLOCK_RUNNER_CONCURRENCY === undefined
      ? chooseRunnerConcurrency(host, maxMemoryMb)
      : {
          concurrency: raw.AIRLOCK_RUNNER_CONCURRENCY,
          reason: `${raw.AIRLOCK_RUNNER_CONCURRENCY}, set by AIRLOCK_RUNNER_CONCURRENCY`,
        };
  return {
    github: {
      appId: raw.APP_ID,
      privateKey,
      webhookSecret: raw.WEBHOOK_SECRET,
      apiUrl: (raw.GITHUB_API_URL ?? "https://api.github.com").replace(/\/+$/, ""),
    },
    databaseUrl: raw.DATABASE_URL,
    dataDir: raw.AIRLOCK_DATA_DIR ?? ".airlock",
    dockerHost: raw.DOCKER_HOST,
    openai: {
      apiKey: raw.OPENAI_API_KEY,
      baseUrl: raw.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
      baseUrlSet: raw.OPENAI_BASE_URL !== undefined,
    },
    anthropic: {
      apiKey: raw.ANTHROPIC_API_KEY,
      baseUrl: raw.ANTHROPIC_BASE_URL ?? "https://api.anthropic.com",
      baseUrlSet: raw.ANTHROPIC_BASE_URL !== undefined,
    },
    tokenSecret: raw.AIRLOCK_TOKEN_SECRET,
    runnerId: raw.AIRLOCK_RUNNER_ID,
    logLevel: raw.AIRLOCK_LOG_LEVEL ?? "info",
    port: raw.PORT ?? 3000,
    host: raw.HOST ?? "0.0.0.0",
    webhookProxyUrl: raw.WEBHOOK_PROXY_URL,
    runner: {
      leaseS: raw.AIRLOCK_LEASE_S ?? 60,
      concurrency: concurrency.concurrency,
      concurrencyReason: concurrency.reason,
    },
    sandboxCeiling: {
      memoryMb: maxMemoryMb,
      cpus: raw.AIRLOCK_MAX_CPUS ?? 2,
      pids: raw.AIRLOCK_MAX_PIDS ?? 512,
      timeoutS: raw.AIRLOCK_MAX_TIMEOUT_S ?? 3600,
    },
    maxDiskMb: raw.AIRLOCK_MAX_DISK_MB,
    mirrorCache:
      raw.AIRLOCK_MIRROR_CACHE_MB === 0
        ? undefined
        : {
            dir:
              raw.AIRLOCK_MIRROR_DIR ?? `${(raw.AIRLOCK_DATA_DIR ?? ".airlock").replace(/\/+$/, "")}/mirrors`,
            maxMb: raw.AIRLOCK_MIRROR_CACHE_MB ?? 10_240,
          },
    allowedModels: raw.AIRLOCK_ALLOWED_MODELS,
    egressPorts: { connectPorts: raw.AIRLOCK_EGRESS_CONNECT_PORTS, httpPorts: raw.AIRLOCK_EGRESS_HTTP_PORTS },
    historyToken: raw.AIRLOCK_HISTORY_TOKEN?.trim(),
  };
}

const requirable = {
  APP_ID: (s: Settings) => s.github.appId,
  PRIVATE_KEY: (s: Settings) => s.github.privateKey,
  WEBHOOK_SECRET: (s: Settings) => s.github.webhookSecret,
  AIRLOCK_TOKEN_SECRET: (s: Settings) => s.tokenSecret,
  DATABASE_URL: (s: Settings) => s.databaseUrl,
} as const;

const hints: Record<keyof typeof requirable, string> = {
  APP_ID: "the GitHub App's id, from its settings page",
  PRIVATE_KEY: "set PRIVATE_KEY (PEM text) or PRIVATE_KEY_PATH (a .pem file) from the App's settings page",
  WEBHOOK_SECRET: "the webhook secret entered when the App was registered",
  AIRLOCK_TOKEN_SECRET: "at least 32 random characters (openssl rand -hex 32); signs run tokens",
  DATABASE_URL: "a postgres:// URL",
};

export type RequirableSetting = keyof typeof requirable;

/** The values of the named settings, each known to be set. */
export type RequiredSettings<N extends RequirableSetting> = {
  [K in N]: NonNullable<ReturnType<(typeof requirable)[K]>>;
};

/**
 * Check that a command's required settings are present, naming every missing one at once,
 * and hand them back typed as set (so no caller needs a non-null assertion).
 */
export function requireSettings<const N extends RequirableSetting>(
  settings: Settings,
  names: readonly N[],
  command: string,
): RequiredSettings<N> {
  const missing = names.filter((n) => requirable[n](settings) === undefined);
  if (missing.length > 0) {
    throw new UsageError(
      `${command} needs these environment variables:\n${missing.map((n) => `  - ${n}: ${hints[n]}`).join("\n")}`,
    );
  }
  // Every name was just checked to have a value, which is what RequiredSettings says.
  return Object.fromEntries(names.map((n) => [n, requirable[n](settings)])) as RequiredSettings<N>;
}
