// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeAgentImageTag } from "../../runner/images/agent-image-tag.ts";
import { ImageBuildError } from "../../runner/images/image-build-error.ts";

const baseId = `sha256:${"a".repeat(64)}`;

describe("computeAgentImageTag", () => {
  it("is airlock/<agent>:<sha256>, independent of capability order and duplicates", () => {
    const tag = computeAgentImageTag("codex", baseId, ["npm:left-pad@1.3.0", "apt:jq"]);
    assert.match(tag, /^airlock\/codex:[0-9a-f]{64}$/);
    assert.equal(computeAgentImageTag("codex", baseId, ["apt:jq", "npm:left-pad@1.3.0", "apt:jq"]), tag);
  });

  it("changes with the base image and with the capabilities", () => {
    const tag = computeAgentImageTag("codex", baseId, ["apt:jq"]);
    assert.notEqual(computeAgentImageTag("codex", `sha256:${"b".repeat(64)}`, ["apt:jq"]), tag);
    assert.notEqual(computeAgentImageTag("codex", baseId, ["apt:jq", "apt:curl"]), tag);
    assert.notEqual(computeAgentImageTag("codex", baseId, []), tag);
  });

  it("rejects ids that would make a bad or misleading image name", () => {
    for (const agent of ["Codex", "../x", "base", "", "a:b"]) {
      assert.throws(() => computeAgentImageTag(agent, baseId, []), ImageBuildError, agent);
    }
    assert.throws(() => computeAgentImageTag("codex", "latest", []), ImageBuildError);
  });
});
