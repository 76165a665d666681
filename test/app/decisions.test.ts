// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseAgent } from "../../app/decide/choose-agent.ts";
import { judgeSender } from "../../app/decide/judge-sender.ts";
import {
  formatAirlockBranch,
  isAirlockBranch,
  parseAirlockBranch,
} from "../../app/decide/parse-airlock-branch.ts";
import { parseAirlockLabel } from "../../app/decide/parse-airlock-label.ts";
import { defaultRepoConfig } from "../../core/repo-config/default-repo-config.ts";

describe("the app's small decisions", () => {
  it("parseAirlockLabel: only airlock:<agent>", () => {
    assert.equal(parseAirlockLabel("airlock:builtin"), "builtin");
    assert.equal(parseAirlockLabel("Airlock:Codex"), "codex");
    assert.equal(parseAirlockLabel("airlock:"), undefined);
    assert.equal(parseAirlockLabel("bug"), undefined);
    assert.equal(parseAirlockLabel("not-airlock:builtin"), undefined);
  });

  it("parseAirlockBranch: airlock/<issue>-<run> and nothing else", () => {
    assert.deepEqual(parseAirlockBranch(formatAirlockBranch(12, "rmabc123")), {
      issueNumber: 12,
      runId: "rmabc123",
    });
    assert.equal(parseAirlockBranch("airlock/x-rabc"), undefined);
    assert.equal(parseAirlockBranch("feature/12-rabc"), undefined);
    assert.equal(isAirlockBranch("airlock/anything"), true);
    assert.equal(isAirlockBranch("main"), false);
  });

  it("chooseAgent: the named or default agent, if the repository allows it", () => {
    const config = { ...defaultRepoConfig(), agents: ["builtin", "codex"], defaultAgent: "codex" };
    assert.deepEqual(chooseAgent(undefined, config), { ok: true, agent: "codex" });
    assert.deepEqual(chooseAgent("builtin", config), { ok: true, agent: "builtin" });
    assert.deepEqual(chooseAgent("claude-code", config), {
      ok: false,
      requested: "claude-code",
      allowed: ["builtin", "codex"],
    });
  });

  it("judgeSender: bots never; people at or above the level", () => {
    assert.equal(judgeSender({ type: "Bot" }, "admin", "write"), "bot");
    assert.equal(judgeSender({ type: "User" }, "write", "write"), "allowed");
    assert.equal(judgeSender({ type: "User" }, "triage", "write"), "below");
    assert.equal(judgeSender({ type: "User" }, "none", "read"), "below");
    assert.equal(judgeSender({ type: "User" }, "read", "read"), "allowed");
  });
});
