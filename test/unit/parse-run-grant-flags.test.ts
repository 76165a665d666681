import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRunGrantFlags } from "../../cli/parse-grant-flags.ts";
import { UsageError } from "../../core/errors.ts";

describe("airlock run --grant (issue 10 §8)", () => {
  it("reads packages, domains and hosted tools, each by its kind's rules", () => {
    assert.deepEqual(
      parseRunGrantFlags(["apt:jq", "npm:left-pad@1.3.0", "network:Docs.Example.org", "llm-tool:web_search"]),
      [
        { kind: "apt", name: "jq" },
        { kind: "npm", name: "left-pad", version: "1.3.0" },
        { kind: "network", name: "docs.example.org" },
        { kind: "llm-tool", name: "web_search" },
      ],
    );
  });

  it("refuses what an agent could not ask for either, naming the flag", () => {
    for (const [value, why] of [
      ["network:127.0.0.1", /--grant network:127\.0\.0\.1: .*IP/i],
      ["network:*.example.org", /--grant network:\*\.example\.org: /],
      ["llm-tool:teleport", /--grant llm-tool:teleport: /],
      ["apt:Bad Name", /--grant /],
    ] as const) {
      assert.throws(
        () => parseRunGrantFlags([value]),
        (error: unknown) => error instanceof UsageError && why.test(error.message),
        value,
      );
    }
  });
});
