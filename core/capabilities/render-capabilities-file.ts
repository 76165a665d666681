import { stringify } from "yaml";
import type { CapabilitiesFileEntry } from "./capabilities-file-entry.ts";

const header = [
  '# Capabilities Airlock agents asked for (see Airlock\'s README, "Capabilities").',
  "# Each entry: what was asked (kind, name, exact version), why, by which run, and the decision.",
  "# Pending requests are answered in the pull request's review: approve the review to grant",
  "# them all, or reply /approve or /deny <why> on one request's comment.",
  "# On the default branch, granted entries are pre-approved for every run of this repository.",
];

/**
 * Render `.github/airlock/capabilities.yml` (pure): readable YAML, one list item per
 * request in the given order, keys in a fixed order, absent fields left out. Strings that
 * YAML would read as something else (`"1.0"`, `"null"`) are quoted by the yaml package, so
 * parseCapabilitiesFile reads back exactly what was rendered.
 */
export function renderCapabilitiesFile(entries: readonly CapabilitiesFileEntry[]): string {
  const ordered = entries.map((entry) =>
    Object.fromEntries(
      (
        [
          ["kind", entry.kind],
          ["name", entry.name],
          ["version", entry.version],
          ["reason", entry.reason],
          ["run", entry.run],
          ["state", entry.state],
          ["decided_by", entry.decided_by],
          ["decided_at", entry.decided_at],
          ["decision_reason", entry.decision_reason],
        ] as const
      ).filter(([, value]) => value !== undefined),
    ),
  );
  const body = stringify({ capabilities: ordered }, { lineWidth: 0, indentSeq: true });
  return `${header.join("\n")}\n${body}`;
}
