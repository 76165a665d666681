import type { CapabilityCheck, CapabilityKind } from "./capability-kinds.ts";
import { isExactSemver } from "./check-npm-package.ts";
import { checkPipPackage } from "./check-pip-package.ts";

/** Debian policy §5.6.12: [epoch:]upstream_version[-debian_revision], upstream starting with a digit. */
const debianVersion = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;

/**
 * The exact version the host resolved for a request, as capabilities.yml records it: a
 * Debian version for apt, an exact semver for npm, an exact PEP 440 version for pip; none
 * for network and llm-tool. (What the agent may ask is checked by validateCapabilitySpec.)
 */
export function checkExactVersion(
  kind: CapabilityKind,
  version: string,
): CapabilityCheck<{ version: string }> {
  const refuse = (reason: string): CapabilityCheck<never> => ({ ok: false, field: "version", reason });
  switch (kind) {
    case "apt":
      return version.length <= 128 && debianVersion.test(version)
        ? { ok: true, version }
        : refuse("not a Debian version (such as 1.6-2.1+deb12u2)");
    case "npm":
      return isExactSemver(version)
        ? { ok: true, version }
        : refuse("not an exact semver version (such as 1.2.3)");
    case "pip": {
      const checked = checkPipPackage("x", version);
      return checked.ok && checked.version !== undefined
        ? { ok: true, version: checked.version }
        : refuse(checked.ok ? "missing" : checked.reason);
    }
    case "network":
    case "llm-tool":
      return refuse(`${kind} entries take no version`);
  }
}
