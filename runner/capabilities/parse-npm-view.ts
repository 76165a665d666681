import { z } from "zod";
import { isExactSemver } from "../../core/capabilities/check-npm-package.ts";
import type { NpmFacts } from "./capability-facts.ts";
import { CapabilityFactsError } from "./capability-facts-error.ts";

const npmVersionSchema = z.looseObject({
  name: z.string(),
  version: z.string().refine(isExactSemver, "an exact semver version"),
  license: z.union([z.string(), z.looseObject({ type: z.string() })]).optional(),
  scripts: z.record(z.string(), z.unknown()).optional(),
  gypfile: z.boolean().optional(),
  dependencies: z.record(z.string(), z.unknown()).optional(),
  optionalDependencies: z.record(z.string(), z.unknown()).optional(),
  dist: z
    .looseObject({
      unpackedSize: z.number().int().nonnegative().optional(),
      integrity: z.string().optional(),
    })
    .optional(),
});

const installScriptNames = ["preinstall", "install", "postinstall"] as const;

/**
 * The facts in `npm view --json` output (pure). A range that matches several versions
 * answers with an array: the highest version is the one an install would pick.
 */
export function parseNpmView(json: unknown): NpmFacts {
  const candidates = Array.isArray(json) ? json : [json];
  const parsed = candidates.map((candidate) => npmVersionSchema.safeParse(candidate));
  const bad = parsed.find((p) => !p.success);
  if (bad && !bad.success) {
    throw new CapabilityFactsError(
      "malformed",
      `npm view answered an unexpected shape: ${z.prettifyError(bad.error)}`,
      {
        cause: bad.error,
      },
    );
  }
  const versions = parsed.flatMap((p) => (p.success ? [p.data] : []));
  const chosen = versions.sort((a, b) => compareSemver(a.version, b.version)).at(-1);
  if (!chosen) throw new CapabilityFactsError("not_found", "npm view found no version matching the request");
  const dependencies = { ...chosen.optionalDependencies, ...chosen.dependencies };
  const scripts = chosen.scripts ?? {};
  const installScripts: string[] = installScriptNames.filter((name) => typeof scripts[name] === "string");
  // npm runs `node-gyp rebuild` as the install script of a package with a binding.gyp.
  if (chosen.gypfile === true && !installScripts.includes("install"))
    installScripts.push("install (node-gyp rebuild)");
  const license = typeof chosen.license === "string" ? chosen.license : (chosen.license?.type ?? null);
  return {
    kind: "npm",
    name: chosen.name,
    version: chosen.version,
    license,
    unpackedSize: chosen.dist?.unpackedSize ?? null,
    directDependencies: Object.keys(dependencies).length,
    dependencyNames: Object.keys(dependencies).sort(),
    installScripts,
    integrity: chosen.dist?.integrity ?? null,
  };
}

/** Semver precedence (§11): numbers first; a prerelease sorts below its release; build metadata is ignored. */
function compareSemver(a: string, b: string): number {
  const [coreA = "", preA] = a.split("+")[0]!.split(/-(.*)/s);
  const [coreB = "", preB] = b.split("+")[0]!.split(/-(.*)/s);
  const numsA = coreA.split(".").map(Number);
  const numsB = coreB.split(".").map(Number);
  for (let i = 0; i < 3; i += 1) {
    const diff = (numsA[i] ?? 0) - (numsB[i] ?? 0);
    if (diff !== 0) return diff;
  }
  if (preA === preB) return 0;
  if (preA === undefined || preA === "") return 1;
  if (preB === undefined || preB === "") return -1;
  const idsA = preA.split(".");
  const idsB = preB.split(".");
  for (let i = 0; i < Math.max(idsA.length, idsB.length); i += 1) {
    const x = idsA[i];
    const y = idsB[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
