import type { CapabilityCheck } from "./capability-kinds.ts";

/** PEP 508 `identifier`: ASCII letters and digits, with - _ . inside (case-insensitive). */
const pep508Name = /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/;
const maxPipNameLength = 128;
// A PEP 440 version in its normalised public form: epoch, release, pre, post, dev. Local
// versions (+…) are refused: they are never on a package index.
const n = "(?:0|[1-9][0-9]*)";
const pep440Version = new RegExp(
  `^(?:${n}!)?${n}(?:\\.${n})*(?:(?:a|b|rc)${n})?(?:\\.post${n})?(?:\\.dev${n})?$`,
);

/**
 * `pip:<package>[==version]`: a PEP 508 name, normalised per PEP 503 (lowercase, runs of
 * - _ . become one -) so that `Foo_Bar` and `foo-bar` are one request; the version, when
 * given, is an exact pin (`1.2.3` or `==1.2.3`). Extras, environment markers, URLs
 * (`name @ url`) and every other operator are refused: a rebuild installs exactly what a
 * maintainer approved, from AIRLOCK_PIP_INDEX_URL.
 */
export function checkPipPackage(
  name: string,
  version: string | undefined,
): CapabilityCheck<{ name: string; version?: string }> {
  if (name.length === 0) return refuse("name", "the package name is empty");
  if (name.length > maxPipNameLength)
    return refuse("name", `pip package names are at most ${maxPipNameLength} characters`);
  if (name.includes("://") || name.includes("@")) {
    return refuse(
      "name",
      "a URL or direct reference (name @ url) is refused: ask for a package on the index by its name",
    );
  }
  if (name.includes("["))
    return refuse("name", "extras ([…]) are refused: ask for each package you need by name");
  if (name.includes(";"))
    return refuse("name", "environment markers (;) are refused: ask for the package name alone");
  if (/[=<>!~]/.test(name))
    return refuse("name", "the version goes in the version field, as an exact pin (==1.2.3)");
  if (!pep508Name.test(name)) {
    return refuse("name", "not a PEP 508 name: ASCII letters and digits, with - _ . only between them");
  }
  const normalised = name.toLowerCase().replace(/[-_.]+/g, "-");
  if (version === undefined) return { ok: true, name: normalised };
  const pinned = version.startsWith("==") ? version.slice(2) : version;
  if (/^(=|[<>!~]=?)/.test(pinned) || /[<>~,;]|!=/.test(pinned)) {
    return refuse("version", "only an exact pin (==1.2.3) is accepted: the maintainer approves one version");
  }
  if (pinned.includes("*")) return refuse("version", "a wildcard pin (==1.*) is not exact: give one version");
  if (pinned.includes("+"))
    return refuse("version", "a local version (+…) is never on the index: give a public version");
  if (!pep440Version.test(pinned)) {
    return refuse("version", "not a PEP 440 version in normal form (such as 2.32.3, 1.0rc1, 1.0.post1)");
  }
  return { ok: true, name: normalised, version: pinned };
}

function refuse(field: "name" | "version", reason: string): CapabilityCheck<never> {
  return { ok: false, field, reason };
}
