import { formatImageGrant } from "../../runner/images/image-grant.ts";
import type { ApprovedImage } from "./build-approved-image.ts";

/** The job summary a human reads on the workflow run's page. */
export function renderImageSummary(runId: string, built: ApprovedImage | undefined, error?: string): string {
  if (!built) return `## Airlock image for run ${runId}: not built\n\n${error ?? "unknown error"}\n`;
  const rows = [
    ...built.sbomDelta.dpkg.map((p) => `| dpkg | ${p.name} | ${p.version} |`),
    ...built.sbomDelta.npm.map((p) => `| npm | ${p.name} | ${p.version} |`),
    ...built.sbomDelta.pip.map((p) => `| pip | ${p.name} | ${p.version} |`),
  ];
  return [
    `## Airlock image for run ${runId}`,
    "",
    `- image: \`${built.ref}\``,
    `- grants: ${built.grants.map((g) => `\`${formatImageGrant(g)}\``).join(", ")}`,
    `- built on agent image \`${built.agentImageId}\` (base \`${built.baseImageId}\`)`,
    `- build ${(built.buildMs / 1000).toFixed(1)} s, push ${(built.pushMs / 1000).toFixed(1)} s`,
    "",
    "### SBOM delta (what the grants added)",
    "",
    "| source | package | version |",
    "| --- | --- | --- |",
    ...(rows.length > 0 ? rows : ["| - | nothing | - |"]),
    "",
  ].join("\n");
}
