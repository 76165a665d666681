import { readFileSync } from "node:fs";

/** `--name value` from the command line, or `fallback`. */
export function benchOption(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

/**
 * The sandbox benchmarks' shared options: `--runs N` (a positive integer) and `--image`
 * (default: the base image of this tree's agent-images/base/VERSION). Exits 2 on a bad --runs.
 */
export function readRunsAndImage(defaultRuns: number): { runs: number; image: string } {
  const runs = Number(benchOption("--runs", String(defaultRuns)));
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write("--runs must be a positive integer\n");
    process.exit(2);
  }
  const version = readFileSync(new URL("../agent-images/base/VERSION", import.meta.url), "utf8").trim();
  return { runs, image: benchOption("--image", `airlock/base:${version}`) };
}
