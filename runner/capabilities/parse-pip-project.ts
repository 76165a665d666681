import { z } from "zod";
import type { PipFacts } from "./capability-facts.ts";
import { CapabilityFactsError } from "./capability-facts-error.ts";

/** The part of the index's JSON API (PEP 691's predecessor, the "JSON API" of Warehouse) that is read. */
const projectSchema = z.looseObject({
  info: z.looseObject({
    name: z.string(),
    version: z.string(),
    license: z.string().nullable().optional(),
    license_expression: z.string().nullable().optional(),
    summary: z.string().nullable().optional(),
    requires_dist: z.array(z.string()).nullable().optional(),
    yanked: z.boolean().optional(),
  }),
  urls: z.array(z.looseObject({ packagetype: z.string(), yanked: z.boolean().optional() })).optional(),
});

/**
 * The facts in `GET <index>/pypi/<name>[/<version>]/json` (pure). The licence is the
 * SPDX `license_expression` when given, else the free-text `license` cut to its first line.
 */
export function parsePipProject(
  json: unknown,
  wanted: { name: string; version: string | undefined },
): PipFacts {
  const parsed = projectSchema.safeParse(json);
  if (!parsed.success) {
    throw new CapabilityFactsError(
      "malformed",
      `the package index answered an unexpected shape: ${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  const { info, urls = [] } = parsed.data;
  const normalised = info.name.toLowerCase().replace(/[-_.]+/g, "-");
  if (normalised !== wanted.name) {
    throw new CapabilityFactsError(
      "malformed",
      `the package index answered for ${info.name}, not ${wanted.name}`,
    );
  }
  if (wanted.version !== undefined && info.version !== wanted.version) {
    throw new CapabilityFactsError(
      "malformed",
      `the package index answered version ${info.version}, not ${wanted.version}`,
    );
  }
  const license = info.license_expression || info.license?.split("\n")[0]?.trim().slice(0, 200) || null;
  return {
    kind: "pip",
    name: normalised,
    version: info.version,
    license,
    summary: info.summary?.slice(0, 300) ?? null,
    requiresDist: info.requires_dist?.length ?? 0,
    sourceOnly: !urls.some((file) => file.packagetype === "bdist_wheel"),
    yanked: info.yanked === true || (urls.length > 0 && urls.every((file) => file.yanked === true)),
  };
}
