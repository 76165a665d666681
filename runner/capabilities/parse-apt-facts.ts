import type { AptFacts } from "./capability-facts.ts";
import { CapabilityFactsError } from "./capability-facts-error.ts";

/**
 * The facts in `apt-cache show --no-all-versions <name>` (the candidate's record) and
 * `apt-get install -s --no-install-recommends <name>` (apt's own simulation: one
 * `Inst <package> (<version> …)` line per package it would add). Pure.
 */
export function parseAptFacts(
  name: string,
  output: { show: string; simulate: string; source: string },
): AptFacts {
  const record = readFirstRecord(output.show);
  if (record.get("package") !== name) {
    throw new CapabilityFactsError(
      "not_found",
      `apt: ${name} is not in the base image's Debian sources (or is purely virtual)`,
    );
  }
  const version = record.get("version");
  if (!version) throw new CapabilityFactsError("malformed", `apt-cache show ${name} gave no Version`);
  const installedKib = Number(record.get("installed-size"));
  const installs = [...output.simulate.matchAll(/^Inst (\S+) /gm)].map((m) => m[1]!);
  if (!installs.includes(name) && !/is already the newest version/.test(output.simulate)) {
    throw new CapabilityFactsError(
      "malformed",
      `apt-get install -s ${name} did not show ${name} being installed`,
    );
  }
  return {
    kind: "apt",
    name,
    version,
    installedSize: Number.isFinite(installedKib) && record.has("installed-size") ? installedKib * 1024 : null,
    pullsIn: installs.filter((pkg) => pkg !== name).sort(),
    source: output.source,
  };
}

/** The first stanza of a deb822 text: field names lowercased, continuation lines dropped. */
function readFirstRecord(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (fields.size > 0) break;
      continue;
    }
    if (/^\s/.test(line)) continue;
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return fields;
}
