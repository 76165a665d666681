import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CapabilitiesFileEntry } from "../../core/capabilities/capabilities-file-entry.ts";
import { listPreApprovedGrants } from "../../core/capabilities/list-pre-approved-grants.ts";
import { locateCapabilityLines } from "../../core/capabilities/locate-capability-lines.ts";
import {
  CapabilitiesFileError,
  parseCapabilitiesFile,
} from "../../core/capabilities/parse-capabilities-file.ts";
import { renderCapabilitiesFile } from "../../core/capabilities/render-capabilities-file.ts";
import { toCapabilitiesFileEntry } from "../../core/capabilities/to-capabilities-file-entry.ts";

const entries: CapabilitiesFileEntry[] = [
  {
    kind: "apt",
    name: "jq",
    version: "1.6-2.1+deb12u2",
    reason: "parse: the #output - yes",
    run: "rabc1",
    state: "pending",
  },
  {
    kind: "npm",
    name: "@scope/pkg",
    version: "1.10.0",
    reason: "\"quoted\" and 'single' and a trailing colon:",
    run: "rabc1",
    state: "granted",
    decided_by: "octocat",
    decided_at: "2026-11-30T12:00:00.000Z",
  },
  {
    kind: "pip",
    name: "requests",
    version: "1.0",
    reason: "null",
    run: "rabc1",
    state: "denied",
    decided_by: "hubot",
    decided_at: "2026-11-30T12:05:00.000Z",
    decision_reason: "use urllib",
  },
  {
    kind: "network",
    name: "api.github.com",
    reason: "- kind: apt",
    run: "rabc1",
    state: "timed_out",
    decided_by: "timeout",
  },
  { kind: "llm-tool", name: "web_search", reason: "yes", state: "granted", decided_by: "pre-approved" },
  {
    kind: "apt",
    name: "libc6",
    version: "2:2.36-9+deb12u4",
    reason: `long ${"é".repeat(990)}`,
    run: "rabc1",
    state: "failed",
    decided_by: "rebuild",
    decision_reason: "apt: exit 100",
  },
];

describe("capabilities.yml", () => {
  it("renders readable YAML that parses back to exactly the same entries", () => {
    const text = renderCapabilitiesFile(entries);
    assert.match(text, /^# Capabilities Airlock agents asked for/);
    assert.match(text, /\n {2}- kind: apt\n {4}name: jq\n {4}version: 1\.6-2\.1\+deb12u2\n/);
    assert.match(text, /version: "1\.0"/, "a version YAML would read as a number is quoted");
    assert.deepEqual(parseCapabilitiesFile(text), entries);
  });

  it("gives the line of each entry and of its name, from the YAML's own positions", () => {
    const text = renderCapabilitiesFile(entries);
    const lines = text.split("\n");
    const located = locateCapabilityLines(text);
    assert.equal(located.length, entries.length, "a reason that looks like an entry is not one");
    located.forEach((at, i) => {
      assert.equal(at.index, i);
      assert.equal(lines[at.line - 1], `  - kind: ${entries[i]!.kind}`);
      assert.match(
        lines[at.nameLine - 1] ?? "",
        new RegExp(`^ {4}name: "?${entries[i]!.name.replace(/[.@/]/g, "\\$&")}"?$`),
      );
    });
    assert.deepEqual(
      located.map((l) => l.line),
      [7, 13, 21, 30, 36, 41],
    );
  });

  it("finds the lines in a file edited by hand (comments, blank lines, flow entries)", () => {
    const text = [
      "# our grants",
      "",
      "capabilities:",
      "# the JSON tool",
      "- kind: apt",
      "  # pinned by the host",
      "  name: jq",
      "  reason: tests",
      "  state: granted",
      "  decided_by: alice",
      "",
      "- {kind: network, name: api.github.com, reason: releases, state: pending}",
      "",
    ].join("\n");
    assert.deepEqual(locateCapabilityLines(text), [
      { index: 0, kind: "apt", name: "jq", line: 5, nameLine: 7 },
      { index: 1, kind: "network", name: "api.github.com", line: 12, nameLine: 12 },
    ]);
    assert.equal(parseCapabilitiesFile(text).length, 2);
    assert.deepEqual(locateCapabilityLines("not: [valid"), []);
  });

  it("reads an empty file, or an empty list, as no entries", () => {
    assert.deepEqual(parseCapabilitiesFile(""), []);
    assert.deepEqual(parseCapabilitiesFile("# nothing yet\n"), []);
    assert.deepEqual(parseCapabilitiesFile("capabilities:\n"), []);
    assert.deepEqual(parseCapabilitiesFile("capabilities: []\n"), []);
    assert.equal(renderCapabilitiesFile([]).endsWith("capabilities: []\n"), true);
  });

  it("normalises names and cleans reasons read from a branch", () => {
    const [entry] = parseCapabilitiesFile(
      'capabilities:\n  - kind: pip\n    name: Requests_OAuthlib\n    reason: "a\\u202eb\\nc"\n    state: pending\n',
    );
    assert.equal(entry?.name, "requests-oauthlib");
    assert.equal(entry?.reason, "a b c");
  });

  const malformed: [string, string, RegExp][] = [
    ["not YAML", "capabilities: [\n", /not valid YAML/],
    ["a list at the top", "- kind: apt\n", /must be a mapping with a `capabilities:` list/],
    ["an unknown top-level key", "capabilities: []\ngrants: []\n", /unknown top-level key\(s\) grants/],
    ["capabilities not a list", "capabilities: {kind: apt}\n", /must be a list/],
    ["an entry not a mapping", "capabilities:\n  - apt:jq\n", /capabilities\[0\]: the entry: /],
    [
      "a missing reason",
      "capabilities:\n  - {kind: apt, name: jq, state: pending}\n",
      /capabilities\[0\] \(apt:jq\): reason: /,
    ],
    [
      "an unknown field",
      "capabilities:\n  - {kind: apt, name: jq, reason: r, state: pending, approved: true}\n",
      /capabilities\[0\] \(apt:jq\): unknown field\(s\) approved/,
    ],
    [
      "a bad kind",
      "capabilities:\n  - {kind: docker, name: x, reason: r, state: pending}\n",
      /capabilities\[0\] \(docker:x\): kind: /,
    ],
    [
      "a bad state",
      "capabilities:\n  - {kind: apt, name: jq, reason: r, state: approved}\n",
      /capabilities\[0\] \(apt:jq\): state: /,
    ],
    [
      "a bad apt name",
      "capabilities:\n  - {kind: apt, name: jq, reason: r, state: pending}\n  - {kind: apt, name: JQ, reason: r, state: pending}\n",
      /capabilities\[1\] \(apt:JQ\)\.name: Debian package names are lowercase/,
    ],
    [
      "a version YAML reads as a number",
      "capabilities:\n  - {kind: pip, name: x, version: 1.10, reason: r, state: pending}\n",
      /capabilities\[0\] \(pip:x\): version: .*quote it/,
    ],
    [
      "an npm range instead of the exact version",
      'capabilities:\n  - {kind: npm, name: x, version: "^1.2", reason: r, state: pending}\n',
      /capabilities\[0\] \(npm:x\)\.version: not an exact semver/,
    ],
    [
      "a version on a network entry",
      'capabilities:\n  - {kind: network, name: a.com, version: "1", reason: r, state: pending}\n',
      /\.version: network entries take no version/,
    ],
    [
      "an IP as a network name",
      "capabilities:\n  - {kind: network, name: 10.0.0.1, reason: r, state: granted, decided_by: a}\n",
      /capabilities\[0\] \(network:10\.0\.0\.1\)\.name: an IP address/,
    ],
    [
      "a grant nobody decided",
      "capabilities:\n  - {kind: apt, name: jq, reason: r, state: granted}\n",
      /capabilities\[0\] \(apt:jq\)\.decided_by: a granted entry says who decided it/,
    ],
    [
      "a bad decision time",
      "capabilities:\n  - {kind: apt, name: jq, reason: r, state: granted, decided_by: a, decided_at: yesterday}\n",
      /decided_at: /,
    ],
    [
      "a reason of control characters only",
      'capabilities:\n  - {kind: apt, name: jq, reason: "\\u0007", state: pending}\n',
      /\.reason: say why/,
    ],
    [
      "a duplicate key",
      "capabilities:\n  - {kind: apt, name: jq, name: curl, reason: r, state: pending}\n",
      /not valid YAML/,
    ],
    [
      "a bad run id",
      'capabilities:\n  - {kind: apt, name: jq, reason: r, state: pending, run: "../x"}\n',
      /run: a run id/,
    ],
  ];
  for (const [what, text, why] of malformed) {
    it(`refuses ${what}, naming the entry and field`, () => {
      assert.throws(
        () => parseCapabilitiesFile(text),
        (error: unknown) => {
          assert.ok(error instanceof CapabilitiesFileError);
          assert.equal(error.code, "capabilities_file_invalid");
          assert.match(error.message, /^\.github\/airlock\/capabilities\.yml: /);
          assert.match(error.message, why);
          return true;
        },
      );
    });
  }

  it("pre-approves only granted entries, the last entry of a kind and name winning", () => {
    const text = renderCapabilitiesFile([
      ...entries,
      {
        kind: "apt",
        name: "jq",
        version: "1.6-2.1+deb12u2",
        reason: "again",
        state: "granted",
        decided_by: "alice",
      },
      { kind: "llm-tool", name: "web_search", reason: "revoked", state: "denied", decided_by: "bob" },
    ]);
    assert.deepEqual(listPreApprovedGrants(parseCapabilitiesFile(text)), [
      { kind: "npm", name: "@scope/pkg", version: "1.10.0" },
      { kind: "apt", name: "jq", version: "1.6-2.1+deb12u2" },
    ]);
  });

  it("writes a stored request as an entry", () => {
    const row = {
      id: 1,
      runId: "rabc1",
      kind: "npm" as const,
      name: "is-number",
      version: "^7",
      reason: "r",
      state: "granted" as const,
      decidedBy: "octocat",
      decidedAt: new Date("2026-11-30T12:00:00Z"),
      decisionReason: null,
      reviewId: null,
      reviewCommentId: null,
      segment: 0,
      createdAt: new Date(),
    };
    assert.deepEqual(toCapabilitiesFileEntry(row, "7.0.0"), {
      kind: "npm",
      name: "is-number",
      version: "7.0.0",
      reason: "r",
      run: "rabc1",
      state: "granted",
      decided_by: "octocat",
      decided_at: "2026-11-30T12:00:00.000Z",
    });
    assert.equal(toCapabilitiesFileEntry(row).version, undefined, "a range is not written as the version");
  });
});
