import {
  capabilitiesFilePath,
  type CapabilitiesFileEntry,
} from "../../core/capabilities/capabilities-file-entry.ts";
import { parseCapabilitiesFile } from "../../core/capabilities/parse-capabilities-file.ts";
import { renderCapabilitiesFile } from "../../core/capabilities/render-capabilities-file.ts";
import { toCapabilitiesFileEntry } from "../../core/capabilities/to-capabilities-file-entry.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import type { Logger } from "../../core/logger.ts";
import type { GitRunner } from "../relay/git-runner.ts";

/**
 * `.github/airlock/capabilities.yml` as the run's branch should hold it (issue 10 §2): the
 * entries the base already has (pre-approvals on the default branch, earlier runs') that
 * are not this run's, then every request of this run in its current state. Undefined when
 * the run asked for nothing. A base file Airlock cannot read is replaced by the run's
 * entries alone, and the log says so: the run must still be able to ask.
 */
export async function composeBranchCapabilitiesFile(input: {
  git: GitRunner;
  gitDir: string;
  baseCommit: string;
  runId: string;
  requests: readonly CapabilityRequest[];
  logger: Logger;
}): Promise<string | undefined> {
  if (input.requests.length === 0) return undefined;
  let kept: CapabilitiesFileEntry[] = [];
  const shown = await input.git.run(["cat-file", "-p", `${input.baseCommit}:${capabilitiesFilePath}`], {
    gitDir: input.gitDir,
    okExitCodes: [0, 128],
  });
  if (shown.exitCode === 0) {
    try {
      kept = parseCapabilitiesFile(shown.stdout.toString("utf8")).filter((e) => e.run !== input.runId);
    } catch (error) {
      input.logger.warn(
        { err: (error as Error).message },
        "the base's capabilities.yml cannot be read; the run's branch gets only this run's entries",
      );
    }
  }
  return renderCapabilitiesFile([...kept, ...input.requests.map((row) => toCapabilitiesFileEntry(row))]);
}
