import type { Run } from "../../core/db/schema.ts";
import { parseStoredRepoConfig } from "../../core/repo-config/parse-stored-repo-config.ts";
import { DEFAULT_APPROVE_PERMISSION } from "../../core/repo-config/repo-config-schema.ts";
import type { DecisionRules } from "./judge-decider.ts";

/**
 * Who may decide a run's requests, from the configuration the run was recorded with (not
 * today's `.github/airlock.yml`: the rules a run started under are the ones it is judged by).
 * Throws (invalid_stored_repo_config) when the stored config does not parse.
 */
export function readDecisionRules(run: Run): DecisionRules {
  const config = parseStoredRepoConfig(run.repoConfig, run.id);
  return {
    approvePermission: config?.approvePermission ?? DEFAULT_APPROVE_PERMISSION,
    requireDistinctApprover: config?.requireDistinctApprover ?? false,
    requestedBy: run.requestedBy,
  };
}
