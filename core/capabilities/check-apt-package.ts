import type { CapabilityCheck } from "./capability-kinds.ts";

/** Debian policy §5.6.7: lowercase letters, digits, + - . ; at least two characters; starts alphanumeric. */
const debianPackageName = /^[a-z0-9][a-z0-9+.-]+$/;
const maxAptNameLength = 128;

/**
 * `apt:<package>`. A version is refused: the package comes from the base image's own
 * Debian release, whose candidate version is what a rebuild installs; the host reads that
 * exact version (apt facts) and records it in capabilities.yml, so the maintainer approves
 * a version they saw. Asking for another one would mean another release or a snapshot
 * archive, which Airlock does not use.
 */
export function checkAptPackage(
  name: string,
  version: string | undefined,
): CapabilityCheck<{ name: string }> {
  if (version !== undefined) {
    return refuse(
      "version",
      "apt packages take no version: the base image's Debian release decides it, and the host shows the exact candidate version to the maintainer; ask again without a version",
    );
  }
  if (name.length < 2 || name.length > maxAptNameLength) {
    return refuse("name", `a Debian package name is 2 to ${maxAptNameLength} characters long`);
  }
  if (/[A-Z]/.test(name)) return refuse("name", "Debian package names are lowercase");
  if (name.includes(":")) {
    return refuse(
      "name",
      "an architecture or release qualifier (name:arch) is refused; ask for the package name alone",
    );
  }
  if (name.includes("=") || name.includes("/")) {
    return refuse(
      "name",
      "a version (=) or release (/) in the name is refused; ask for the package name alone",
    );
  }
  if (!debianPackageName.test(name)) {
    return refuse(
      "name",
      "not a Debian package name: lowercase letters, digits, +, - and . only, starting with a letter or digit",
    );
  }
  // apt-get reads `name-` as "remove name" (and `name+` as install): a trailing hyphen
  // would turn an install into a removal in the rebuild.
  if (name.endsWith("-")) return refuse("name", "a name ending in '-' is an apt removal, not a package");
  return { ok: true, name };
}

function refuse(field: "name" | "version", reason: string): CapabilityCheck<never> {
  return { ok: false, field, reason };
}
