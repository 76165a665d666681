import { domainToUnicode } from "node:url";
import type { CapabilitySpec } from "../../core/capabilities/capability-kinds.ts";
import { isGrantableLlmTool, llmToolGrants } from "../../core/capabilities/llm-tool-grants.ts";
import type { CapabilityFacts, HostFactSources } from "./capability-facts.ts";
import { CapabilityFactsError } from "./capability-facts-error.ts";
import { parseAptFacts } from "./parse-apt-facts.ts";
import { parseNpmView } from "./parse-npm-view.ts";
import { parsePipProject } from "./parse-pip-project.ts";

/**
 * The facts a maintainer needs about one validated request (issue 10 §3). `spec` must come
 * from validateCapabilityRequest or parseCapabilitiesFile: names reach the sources as
 * arguments, already checked. Throws CapabilityFactsError.
 */
export async function gatherCapabilityFacts(
  sources: HostFactSources,
  spec: CapabilitySpec,
): Promise<CapabilityFacts> {
  switch (spec.kind) {
    case "npm": {
      const facts = parseNpmView(await sources.npmView(spec));
      if (facts.name !== spec.name) {
        throw new CapabilityFactsError("malformed", `npm view answered for ${facts.name}, not ${spec.name}`);
      }
      return facts;
    }
    case "apt":
      return parseAptFacts(spec.name, await sources.aptInspect(spec.name));
    case "pip":
      return parsePipProject(await sources.pipProject(spec.name, spec.version), {
        name: spec.name,
        version: spec.version,
      });
    case "network": {
      const addresses = [...new Set(await sources.resolveDomain(spec.name))].sort();
      const unicode = domainToUnicode(spec.name);
      return {
        kind: "network",
        domain: spec.name,
        unicode: unicode !== spec.name ? unicode : null,
        addresses,
      };
    }
    case "llm-tool": {
      if (!isGrantableLlmTool(spec.name))
        throw new CapabilityFactsError("not_found", `llm-tool ${spec.name} is not grantable`);
      return { kind: "llm-tool", name: spec.name, ...llmToolGrants[spec.name] };
    }
  }
}
