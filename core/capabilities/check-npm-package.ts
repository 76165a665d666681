import type { CapabilityCheck } from "./capability-kinds.ts";

const maxNpmNameLength = 214;
const maxNpmVersionLength = 64;

/** One part of a scoped or plain name, as npm accepts it for new packages (URL-safe, lowercase, no ~'!()*). */
const namePart = /^[a-z0-9][a-z0-9._-]*$/;

// Semantic Versioning 2.0.0 §2, §9, §10: numbers without leading zeros, dot-separated
// prerelease identifiers (numeric ones without leading zeros), build metadata.
const number = "(?:0|[1-9][0-9]*)";
const prereleaseId = `(?:${number}|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)`;
const prerelease = `(?:-${prereleaseId}(?:\\.${prereleaseId})*)`;
const build = "(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)";
const exactSemver = new RegExp(`^${number}\\.${number}\\.${number}${prerelease}?${build}?$`);
// A range the host resolves to one exact version (node-semver's grammar, narrowed): one or
// two comparators (`^1.2.3`, `~1.2`, `>=1.2.0 <2`, `1.x`) or a hyphen range. No `||`, no tags.
const partialNumber = `(?:${number}|[xX*])`;
const partial = `${partialNumber}(?:\\.${partialNumber}(?:\\.${partialNumber}${prerelease}?)?)?`;
const comparator = `(?:\\^|~|>=|<=|>|<|=)?${partial}`;
const npmRange = new RegExp(`^(?:${comparator}(?: ${comparator})?|${partial} - ${partial})$`);

/**
 * `npm:<package>[@version]`: names as npm validates them for new packages
 * (validate-npm-package-name's rules, written out: ≤ 214 characters, lowercase, URL-safe,
 * not starting with `.` or `_`, not node_modules or favicon.ico), with one more rule: no
 * leading `-`, which the host's npm would read as an option. Legacy names with capitals
 * or ~'!()* are refused. Node's core module names (buffer, events…) are accepted: npm only
 * warns about them, and they are real packages.
 *
 * The version is an exact semver or a plain range; the host resolves a range to one
 * exact version before a maintainer sees it. Anything npm would fetch from somewhere other
 * than the registry (URL, git, file, `npm:` alias) and dist-tags (which move) are refused.
 */
export function checkNpmPackage(
  name: string,
  version: string | undefined,
): CapabilityCheck<{ name: string; version?: string }> {
  const nameProblem = findNpmNameProblem(name);
  if (nameProblem) return { ok: false, field: "name", reason: nameProblem };
  if (version === undefined) return { ok: true, name };
  const versionProblem = findNpmVersionProblem(version);
  if (versionProblem) return { ok: false, field: "version", reason: versionProblem };
  return { ok: true, name, version };
}

/** An exact Semantic Versioning 2.0.0 version (no range, no `v`). */
export function isExactSemver(version: string): boolean {
  return version.length <= maxNpmVersionLength && exactSemver.test(version);
}

function findNpmNameProblem(name: string): string | undefined {
  if (name.length === 0) return "the package name is empty";
  if (name.length > maxNpmNameLength) return `npm package names are at most ${maxNpmNameLength} characters`;
  if (name.trim() !== name) return "the package name has leading or trailing spaces";
  if (/^[a-z][a-z0-9+.-]*:/i.test(name) || name.includes("://")) {
    return "a URL, git, file or alias (npm:) spec is refused: ask for a package from the registry by its name";
  }
  if (name.includes("#")) return "a git ref (#) is refused: ask for a registry package by its name";
  const scoped = /^@([^/]*)\/(.*)$/.exec(name);
  if (name.startsWith("@") && !scoped) return "a scoped name is @scope/name";
  if (!scoped && name.includes("/")) {
    return "a path or GitHub shorthand (user/repo) is refused: ask for a registry package by its name";
  }
  if (!scoped && name.includes("@")) {
    return "the version goes in the version field, not after @ in the name";
  }
  const parts = scoped ? [scoped[1] ?? "", scoped[2] ?? ""] : [name];
  for (const part of parts) {
    if (part.length === 0) return "a scoped name is @scope/name, both parts non-empty";
    if (part.startsWith(".") || part.startsWith("_")) return "npm package names cannot start with . or _";
    if (part.startsWith("-"))
      return "a name starting with - is refused: the host's npm would read it as an option";
    if (/[A-Z]/.test(part)) return "npm package names are lowercase (legacy names with capitals are refused)";
    if (/[~'!()*]/.test(part)) return "npm package names cannot contain ~ ' ! ( ) *";
    if (part.includes("@")) return "the version goes in the version field, not after @ in the name";
    if (!namePart.test(part)) {
      return "npm package names use lowercase letters, digits, - . _ only (and @scope/ in front)";
    }
  }
  if (name === "node_modules" || name === "favicon.ico") return `${name} is not a valid npm package name`;
  return undefined;
}

function findNpmVersionProblem(version: string): string | undefined {
  if (version.length === 0) return "the version is empty; leave it out to ask for the latest";
  if (version.length > maxNpmVersionLength) return `a version is at most ${maxNpmVersionLength} characters`;
  if (/[:/#]/.test(version)) {
    return "a URL, git, file or alias (npm:) spec is refused: give an exact version or a range";
  }
  if (exactSemver.test(version) || npmRange.test(version)) return undefined;
  if (version.includes("||")) return "give one range (no ||): the host resolves it to a single exact version";
  if (/^v?\d/.test(version) === false && /^[a-z][a-z0-9._-]*$/i.test(version)) {
    return `"${version}" is a dist-tag, which moves: give an exact version (such as 1.2.3) or a range (such as ^1.2)`;
  }
  return "not an exact version (such as 1.2.3) or a range (such as ^1.2, ~1.2.3, >=1.2.0 <2)";
}
