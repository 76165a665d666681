import { parseDocument } from "yaml";
import type { z } from "zod";
import { defaultRepoConfig } from "./default-repo-config.ts";
import { DEFAULT_AGENT_ID, repoConfigSchema } from "./repo-config-schema.ts";
import type { RepoConfig } from "./repo-config.ts";

export const MAX_REPO_CONFIG_BYTES = 64 * 1024;
/** A config file has no use for aliases beyond a few; more is an expansion attack (billion laughs). */
const MAX_ALIAS_COUNT = 10;

export interface RepoConfigProblem {
  /** Dotted path in the file (`limits.memory_mb`, `agents[1]`), or `(yaml)` / `(file)` / `(top level)`. */
  key: string;
  message: string;
}

export type ParsedRepoConfig =
  | { ok: true; config: RepoConfig; warnings: string[]; source: "file" | "default" }
  | { ok: false; problems: RepoConfigProblem[] };

/**
 * Reads `.github/airlock.yml` (`undefined` when the default branch has none). The file is
 * written by whoever can push to the default branch, so it is treated as hostile: size-capped,
 * aliases limited, every problem reported at once with the key it sits under. Never throws.
 */
export function parseRepoConfig(
  text: string | undefined,
  opts: { agentIds: readonly string[] },
): ParsedRepoConfig {
  if (text === undefined) {
    const config = defaultRepoConfig(opts.agentIds);
    const problems = catalogProblems(undefined, opts.agentIds);
    return problems.length > 0
      ? { ok: false, problems }
      : { ok: true, config, warnings: [], source: "default" };
  }
  if (Buffer.byteLength(text, "utf8") > MAX_REPO_CONFIG_BYTES) {
    return fail(
      "(file)",
      `is larger than ${MAX_REPO_CONFIG_BYTES / 1024} KiB; a configuration needs a few lines`,
    );
  }
  let raw: unknown;
  try {
    // YAML 1.2 core schema, no merge keys: `yes`/`no` stay strings and `<<` is an ordinary (unknown) key.
    const document = parseDocument(text, {
      version: "1.2",
      schema: "core",
      merge: false,
      uniqueKeys: true,
      // yaml reports odd input through process warnings; a stranger's file must not write to our logs.
      logLevel: "error",
    });
    const yamlError = document.errors[0];
    if (yamlError !== undefined) return fail("(yaml)", firstLine(yamlError.message));
    raw = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message =
      error instanceof ReferenceError
        ? `uses more than ${MAX_ALIAS_COUNT} alias expansions; write the values out instead of using anchors`
        : "could not be read as YAML; check the nesting and indentation";
    return fail("(yaml)", message);
  }
  // An empty file or one holding only comments asks for nothing: the defaults.
  const result = repoConfigSchema.safeParse(raw ?? {});
  const problems = [
    ...(result.success ? [] : result.error.issues.flatMap(toProblems)),
    ...catalogProblems(raw, opts.agentIds),
  ];
  if (!result.success || problems.length > 0) return { ok: false, problems };
  const warnings: string[] = [];
  if (result.data.minPermission === "read") {
    warnings.push(
      "min_permission is read: anyone who can read this repository (everyone, if it is public) can start runs paid for by this installation",
    );
  }
  return { ok: true, config: result.data, warnings, source: "file" };
}

function fail(key: string, message: string): ParsedRepoConfig {
  return { ok: false, problems: [{ key, message }] };
}

/** yaml's pretty errors append the offending source lines; the reply names the position only. */
function firstLine(message: string): string {
  return (message.split("\n")[0] ?? message).replace(/:$/, "");
}

function catalogProblems(raw: unknown, agentIds: readonly string[]): RepoConfigProblem[] {
  const allowed = `allowed: ${agentIds.join(", ") || "(this Airlock has no agents)"}`;
  const agents = isMapping(raw) ? raw["agents"] : undefined;
  if (agents === undefined) {
    return agentIds.includes(DEFAULT_AGENT_ID)
      ? []
      : [
          {
            key: "agents",
            message: `is not set and the default ${DEFAULT_AGENT_ID} is not available; list agents (${allowed})`,
          },
        ];
  }
  if (!Array.isArray(agents)) return [];
  return agents.flatMap((id: unknown, index) =>
    typeof id === "string" && !agentIds.includes(id)
      ? [{ key: `agents[${index}]`, message: `is not an agent this Airlock runs; ${allowed}` }]
      : [],
  );
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toProblems(issue: z.core.$ZodIssue): RepoConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ key: formatKeyPath([...issue.path, key]), message: issue.message }));
  }
  return [{ key: formatKeyPath(issue.path), message: issue.message }];
}

/** `limits.memory_mb`, `agents[1]`; a key that is not a plain word is quoted and shortened, as it came from the file. */
function formatKeyPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  return path
    .map((segment, index) => {
      if (typeof segment === "number") return `[${segment}]`;
      const name = String(segment);
      const shown = /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : JSON.stringify(name.slice(0, 40));
      return index === 0 ? shown : `.${shown}`;
    })
    .join("");
}
