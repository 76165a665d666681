import { lookup } from "node:dns/promises";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import type { HostFactSources } from "./capability-facts.ts";
import { CapabilityFactsError } from "./capability-facts-error.ts";
import { runHostCommand, type HostCommandResult } from "./run-host-command.ts";

export interface HostFactSourcesOptions {
  /** The agent image's base (e.g. airlock/base:<version>): apt facts come from its own Debian sources. */
  baseImage: string;
  /** AIRLOCK_PIP_INDEX_URL; pip facts are unavailable without it. */
  pipIndexUrl?: string | undefined;
  npmCommand?: string;
  dockerCommand?: string;
  timeoutMs?: number;
  /** The DNS lookup; the host's resolver by default. Only tests replace it. */
  lookupAll?: (domain: string) => Promise<string[]>;
  fetch?: typeof fetch;
}

/** Marks the simulation's start in the apt container's output. */
const simulateMarker = "@@airlock-apt-simulate@@";

// Runs in a throw-away container of the base image: refresh the lists from the image's own
// Debian sources, show the candidate, simulate the install. The package name is "$1", an
// argument, never part of the script text.
const aptScript = [
  "apt-get update -qq >/dev/null 2>&1 || { echo 'apt-get update failed: the Debian mirror is not reachable' >&2; exit 3; }",
  'apt-cache show --no-all-versions "$1" || exit 4',
  `echo '${simulateMarker}'`,
  'apt-get install -s --no-install-recommends "$1" || exit 5',
].join("\n");

/**
 * The real HostFactSources:
 * - npm: the host's `npm view --json` (its own registry configuration and credentials);
 * - apt: `docker run` of the base image on the default bridge network, as root with only
 *   the capabilities apt's privilege drop needs, removed afterwards (the sandbox's
 *   `--network none` cannot reach the mirror; this container runs nothing of the agent's);
 * - network: the host's resolver (getaddrinfo, as the egress proxy resolves);
 * - pip: the JSON API beside AIRLOCK_PIP_INDEX_URL: `<index>/pypi/<name>[/<version>]/json`,
 *   where `<index>` is the URL without a trailing `/simple` (Warehouse's and devpi's layout).
 */
export function createHostFactSources(options: HostFactSourcesOptions): HostFactSources {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const fetchImpl = options.fetch ?? fetch;
  const lookupAll =
    options.lookupAll ??
    (async (domain: string) => (await lookup(domain, { all: true, verbatim: true })).map((a) => a.address));

  async function run(file: string, args: string[], what: string): Promise<HostCommandResult> {
    try {
      return await runHostCommand(file, args, { timeoutMs });
    } catch (error) {
      throw new CapabilityFactsError(
        "unavailable",
        `${what} could not run or timed out after ${timeoutMs} ms`,
        {
          cause: error,
        },
      );
    }
  }

  return {
    async npmView(spec: CapabilitySpec) {
      const target = spec.version === undefined ? spec.name : `${spec.name}@${spec.version}`;
      const result = await run(
        options.npmCommand ?? "npm",
        ["view", "--json", "--", target],
        `npm view ${target}`,
      );
      let json: unknown;
      try {
        json = result.stdout.trim() === "" ? undefined : JSON.parse(result.stdout);
      } catch (error) {
        throw new CapabilityFactsError("malformed", `npm view ${target} did not answer JSON`, {
          cause: error,
        });
      }
      const code = (json as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (code === "E404" || (result.exitCode === 0 && json === undefined)) {
        throw new CapabilityFactsError("not_found", `npm: no published version matches ${target}`);
      }
      if (result.exitCode !== 0) {
        throw new CapabilityFactsError(
          "unavailable",
          `npm view ${target} failed (exit ${result.exitCode}${typeof code === "string" ? `, ${code}` : ""})`,
        );
      }
      return json;
    },

    async aptInspect(name: string) {
      const docker = options.dockerCommand ?? "docker";
      const args = [
        "run",
        "--rm",
        "--network",
        "bridge",
        "--user",
        "0",
        "--cap-drop",
        "ALL",
        "--cap-add",
        "SETUID",
        "--cap-add",
        "SETGID",
        "--cap-add",
        "CHOWN",
        "--cap-add",
        "DAC_OVERRIDE",
        "--cap-add",
        "FOWNER",
        "--security-opt",
        "no-new-privileges",
        "--memory",
        "512m",
        "--pids-limit",
        "256",
        "--label",
        "airlock.purpose=capability-facts",
        "--entrypoint",
        "sh",
        options.baseImage,
        "-c",
        aptScript,
        "sh",
        name,
      ];
      const result = await run(docker, args, `apt facts for ${name}`);
      if (result.exitCode === 4 || (result.exitCode === 0 && !result.stdout.includes(simulateMarker))) {
        throw new CapabilityFactsError("not_found", `apt: ${name} is not in the base image's Debian sources`);
      }
      if (result.exitCode !== 0) {
        throw new CapabilityFactsError(
          result.exitCode === 5 ? "not_found" : "unavailable",
          `apt facts for ${name} failed (exit ${result.exitCode}): ${result.stderr.trim().split("\n").at(-1)?.slice(0, 300) ?? ""}`,
        );
      }
      const [show = "", simulate = ""] = result.stdout.split(simulateMarker);
      return { show, simulate, source: `apt in a container of ${options.baseImage}` };
    },

    async resolveDomain(domain: string) {
      try {
        return await lookupAll(domain);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new CapabilityFactsError(
          code === "ENOTFOUND" || code === "ENODATA" ? "not_found" : "unavailable",
          `${domain} does not resolve on the host (${code ?? "error"})`,
          { cause: error },
        );
      }
    },

    async pipProject(name: string, version: string | undefined) {
      if (!options.pipIndexUrl) {
        throw new CapabilityFactsError(
          "unavailable",
          "AIRLOCK_PIP_INDEX_URL is not set: pip facts cannot be gathered",
        );
      }
      const root = options.pipIndexUrl.replace(/\/+$/, "").replace(/\/simple$/, "");
      const path = version === undefined ? `${name}/json` : `${name}/${encodeURIComponent(version)}/json`;
      const url = `${root}/pypi/${path}`;
      let response: Response;
      try {
        response = await fetchImpl(url, {
          headers: { accept: "application/json" },
          signal: AbortSignal.timeout(timeoutMs),
          redirect: "follow",
        });
      } catch (error) {
        throw new CapabilityFactsError("unavailable", `the package index could not be reached for ${name}`, {
          cause: error,
        });
      }
      if (response.status === 404) {
        throw new CapabilityFactsError(
          "not_found",
          `pip: ${name}${version ? `==${version}` : ""} is not on the package index`,
        );
      }
      if (!response.ok)
        throw new CapabilityFactsError(
          "unavailable",
          `the package index answered ${response.status} for ${name}`,
        );
      try {
        return await response.json();
      } catch (error) {
        throw new CapabilityFactsError("malformed", `the package index did not answer JSON for ${name}`, {
          cause: error,
        });
      }
    },
  };
}
