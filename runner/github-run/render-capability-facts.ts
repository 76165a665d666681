import { escapeMarkdown, formatCode } from "../../core/summary/escape-markdown.ts";
import type { CapabilityFacts } from "../capabilities/capability-facts.ts";

/** Lists longer than this are cut: a request's comment is for deciding, not for a lock file. */
const maxNames = 25;

/**
 * The facts gathered on the host (issue 10 §3), as Markdown bullet lines for a review
 * comment. Everything in them came from outside (a package index, apt, DNS): names and
 * versions are shown as code, free text (a pip summary) escaped, so nothing renders as markup.
 */
export function renderCapabilityFacts(facts: CapabilityFacts): string[] {
  switch (facts.kind) {
    case "apt":
      return [
        `- Candidate version: ${formatCode(facts.version)} (${escapeMarkdown(facts.source)})`,
        `- Installed size: ${formatSize(facts.installedSize)}`,
        facts.pullsIn.length === 0
          ? "- Pulls in no other package"
          : `- Pulls in ${facts.pullsIn.length} other package${facts.pullsIn.length === 1 ? "" : "s"}: ${listNames(facts.pullsIn)}`,
      ];
    case "npm":
      return [
        `- Exact version: ${formatCode(facts.version)}`,
        `- Licence: ${facts.license === null ? "not stated" : formatCode(facts.license)}`,
        `- Unpacked size: ${formatSize(facts.unpackedSize)}`,
        facts.directDependencies === 0
          ? "- No dependencies"
          : `- ${facts.directDependencies} direct dependenc${facts.directDependencies === 1 ? "y" : "ies"} (each may have its own): ${listNames(facts.dependencyNames)}`,
        facts.installScripts.length === 0
          ? "- Install scripts: none"
          : `- **Install scripts run at build time:** ${listNames(facts.installScripts)}`,
        ...(facts.integrity === null ? [] : [`- Integrity: ${formatCode(facts.integrity)}`]),
      ];
    case "pip":
      return [
        `- Version: ${formatCode(facts.version)}${facts.yanked ? " (**yanked** by its publisher)" : ""}`,
        `- Licence: ${facts.license === null ? "not stated" : formatCode(facts.license)}`,
        ...(facts.summary === null ? [] : [`- Summary: ${escapeMarkdown(facts.summary)}`]),
        `- Declares ${facts.requiresDist} requirement${facts.requiresDist === 1 ? "" : "s"}`,
        facts.sourceOnly
          ? "- **No wheel is published:** pip builds it from source, running its build code"
          : "- Installed from a published wheel",
      ];
    case "network":
      return [
        `- Domain: ${formatCode(facts.domain)}${facts.unicode === null ? "" : ` (shown as ${formatCode(facts.unicode)}: check it is the name you expect)`}`,
        facts.addresses.length === 0
          ? "- Resolves to nothing right now"
          : `- Resolves now to: ${listNames(facts.addresses)}`,
      ];
    case "llm-tool":
      return [
        `- Tool: ${formatCode(facts.name)}`,
        `- Reaches: ${escapeMarkdown(facts.reaches)}`,
        `- Costs: ${escapeMarkdown(facts.costs)}`,
      ];
  }
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, maxNames).map(formatCode).join(", ");
  return names.length > maxNames ? `${shown} and ${names.length - maxNames} more` : shown;
}

function formatSize(bytes: number | null): string {
  if (bytes === null) return "not stated";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
