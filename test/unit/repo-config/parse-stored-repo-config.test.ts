import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AirlockError } from "../../../core/errors.ts";
import { parseRepoConfig } from "../../../core/repo-config/parse-repo-config.ts";
import { parseStoredRepoConfig } from "../../../core/repo-config/parse-stored-repo-config.ts";

describe("parseStoredRepoConfig: runs.repo_config read back", () => {
  it("gives back what the app stored, through a JSON round trip", () => {
    const parsed = parseRepoConfig(
      "allow_workflow_changes: true\nmodel: gpt-4.1\nlimits:\n  timeout_minutes: 2\n  memory_mb: 512\n",
      { agentIds: ["builtin"] },
    );
    assert.ok(parsed.ok);
    const stored: unknown = JSON.parse(JSON.stringify(parsed.config));
    assert.deepEqual(parseStoredRepoConfig(stored, "r1"), parsed.config);
    assert.deepEqual(parseStoredRepoConfig(stored, "r1")?.limits, { timeoutS: 120, memoryMb: 512 });
  });

  it("is undefined for a run recorded without one", () => {
    assert.equal(parseStoredRepoConfig(null, "r1"), undefined);
    assert.equal(parseStoredRepoConfig(undefined, "r1"), undefined);
  });

  it("refuses a config that does not fit, naming the run and the field, instead of using it", () => {
    const parsed = parseRepoConfig(undefined, { agentIds: ["builtin"] });
    assert.ok(parsed.ok);
    const tampered = { ...parsed.config, allowWorkflowChanges: "yes", limits: { memoryMb: -1 } };
    assert.throws(
      () => parseStoredRepoConfig(tampered, "r9"),
      (error: unknown) =>
        error instanceof AirlockError &&
        error.code === "invalid_stored_repo_config" &&
        /run r9/.test(error.message) &&
        /allowWorkflowChanges/.test(error.message) &&
        /limits\.memoryMb/.test(error.message),
    );
    assert.throws(() => parseStoredRepoConfig("not a mapping", "r9"), /not valid/);
  });
});
