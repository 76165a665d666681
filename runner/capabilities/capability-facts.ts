import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";

/**
 * What a maintainer needs to decide on a request (issue 10 §3), gathered on the host.
 * Sizes in bytes; `null` where the source did not say.
 */
export type CapabilityFacts = NpmFacts | AptFacts | PipFacts | NetworkFacts | LlmToolFacts;

export interface NpmFacts {
  kind: "npm";
  name: string;
  /** The exact version a range resolved to (the highest that satisfies it). */
  version: string;
  license: string | null;
  unpackedSize: number | null;
  /**
   * Direct dependencies (dependencies + optionalDependencies): the full transitive tree
   * would take one registry query per package, so only the direct ones are counted.
   */
  directDependencies: number;
  dependencyNames: string[];
  /** Scripts npm runs when it installs the package (preinstall, install, postinstall; `install: node-gyp rebuild` implied by a gypfile). */
  installScripts: string[];
  integrity: string | null;
}

export interface AptFacts {
  kind: "apt";
  name: string;
  /** The candidate version in the base image's Debian sources. */
  version: string;
  /** The package's own Installed-Size (Debian gives KiB; converted to bytes). */
  installedSize: number | null;
  /** Packages the install adds besides the package itself, from apt's own simulation (no recommends). */
  pullsIn: string[];
  /** Where the facts came from. */
  source: string;
}

export interface PipFacts {
  kind: "pip";
  name: string;
  version: string;
  license: string | null;
  summary: string | null;
  /** Requirements the package declares (requires_dist), markers and extras included. */
  requiresDist: number;
  /** True when no wheel is published for this version: pip builds it from source, running its build code. */
  sourceOnly: boolean;
  yanked: boolean;
}

export interface NetworkFacts {
  kind: "network";
  domain: string;
  /** The name as Unicode when it is punycode (what a homograph would look like), else null. */
  unicode: string | null;
  /** What the host's DNS answers now (IPv4 and IPv6), sorted. */
  addresses: string[];
}

export interface LlmToolFacts {
  kind: "llm-tool";
  name: string;
  reaches: string;
  costs: string;
}

/**
 * The host-side sources of facts: one interface, one real implementation
 * (create-host-fact-sources.ts); tests give stand-ins (a recorded npm answer, a loopback
 * index, an injected resolver).
 */
export interface HostFactSources {
  /** `npm view --json <name>[@<version>]`, parsed: an object, or an array when a range matches several versions. */
  npmView(spec: CapabilitySpec): Promise<unknown>;
  /** `apt-cache show` and `apt-get install -s` in a container of the base image. */
  aptInspect(name: string): Promise<{ show: string; simulate: string; source: string }>;
  /** The addresses a name resolves to now. */
  resolveDomain(domain: string): Promise<string[]>;
  /** The package index's JSON for a project (a version's, when given). */
  pipProject(name: string, version: string | undefined): Promise<unknown>;
}
