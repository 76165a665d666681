import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { agentCatalog } from "../../../core/agents/agent-catalog.ts";
import { defaultRepoConfig } from "../../../core/repo-config/default-repo-config.ts";
import { parseRepoConfig, type ParsedRepoConfig } from "../../../core/repo-config/parse-repo-config.ts";

const agentIds = agentCatalog.map((agent) => agent.id);
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/config/${name}`, import.meta.url), "utf8");

function problemsOf(result: ParsedRepoConfig): Map<string, string> {
  assert.equal(result.ok, false, "expected the file to be refused");
  if (result.ok) throw new Error("unreachable");
  return new Map(result.problems.map((p) => [p.key, p.message]));
}

describe("parseRepoConfig", () => {
  it("gives the defaults, marked as such, when the repository has no file", () => {
    const result = parseRepoConfig(undefined, { agentIds });
    assert.deepEqual(result, {
      ok: true,
      config: defaultRepoConfig(agentIds),
      warnings: [],
      source: "default",
    });
    assert.deepEqual(defaultRepoConfig(), {
      agents: ["builtin"],
      defaultAgent: "builtin",
      minPermission: "write",
      approvePermission: "write",
      requireDistinctApprover: false,
      approvalTimeoutS: 72 * 3600,
      allowWorkflowChanges: false,
      budget: { usd: 2, tokens: 1_000_000 },
      limits: {},
      images: { build: "local" },
    });
  });

  it("gives the defaults for an empty file or one holding only comments", () => {
    for (const text of ["", "\n\n", "# nothing here yet\n  # still nothing\n"]) {
      const result = parseRepoConfig(text, { agentIds });
      assert.deepEqual(result, { ok: true, config: defaultRepoConfig(), warnings: [], source: "file" }, text);
    }
  });

  it("reads every key of a full file into camelCase, minutes into seconds", () => {
    const result = parseRepoConfig(fixture("valid-full.yml"), { agentIds });
    assert.deepEqual(result, {
      ok: true,
      source: "file",
      warnings: [],
      config: {
        agents: ["builtin"],
        defaultAgent: "builtin",
        minPermission: "maintain",
        approvePermission: "maintain",
        requireDistinctApprover: true,
        approvalTimeoutS: 90 * 60,
        allowWorkflowChanges: true,
        model: "gpt-4.1-mini",
        budget: { usd: 5.5, tokens: 500_000 },
        limits: { timeoutS: 1200, memoryMb: 2048, cpus: 1.5, pids: 512 },
        images: {
          build: "actions",
          registry: "registry.example/acme/airlock-images",
          workflow: "build-airlock-image.yaml",
        },
      },
    });
  });

  it("images: build on actions defaults the workflow to airlock-image.yml; local needs nothing", () => {
    const actions = parseRepoConfig("images:\n  build: actions\n  registry: 127.0.0.1:5000/acme/images\n", {
      agentIds,
    });
    assert.ok(actions.ok);
    assert.deepEqual(actions.config.images, {
      build: "actions",
      registry: "127.0.0.1:5000/acme/images",
      workflow: "airlock-image.yml",
    });
    const local = parseRepoConfig("images: { build: local }\n", { agentIds });
    assert.ok(local.ok);
    assert.deepEqual(local.config.images, { build: "local" });
  });

  it("images: refuses actions without a registry, a registry or workflow without actions, and values that could reach a command line", () => {
    assert.match(
      problemsOf(parseRepoConfig("images: { build: actions }\n", { agentIds })).get("images.registry") ?? "",
      /needed with build: actions/,
    );
    assert.match(
      problemsOf(parseRepoConfig("images: { registry: registry.example/a/b }\n", { agentIds })).get(
        "images.registry",
      ) ?? "",
      /only then/,
    );
    assert.match(
      problemsOf(parseRepoConfig("images: { build: local, workflow: x.yml }\n", { agentIds })).get(
        "images.workflow",
      ) ?? "",
      /only with build: actions/,
    );
    for (const registry of [
      "registry.example",
      "Registry.Example/a/b",
      "registry.example/a/b:latest",
      "registry.example/a/b;rm -rf /",
      "registry.example/a/b@sha256:00",
    ]) {
      const problems = problemsOf(
        parseRepoConfig(`images:\n  build: actions\n  registry: "${registry}"\n`, { agentIds }),
      );
      assert.match(
        problems.get("images.registry") ?? "",
        /must be a registry and repository without tag/,
        registry,
      );
    }
    assert.match(
      problemsOf(
        parseRepoConfig(
          "images: { build: actions, registry: registry.example/a/b, workflow: ../evil.yml }\n",
          {
            agentIds,
          },
        ),
      ).get("images.workflow") ?? "",
      /workflow file name/,
    );
    assert.match(
      problemsOf(parseRepoConfig("images: { build: cloud }\n", { agentIds })).get("images.build") ?? "",
      /one of local, actions/,
    );
  });

  it("defaults the default agent to the first listed one", () => {
    const result = parseRepoConfig("agents: [other, builtin]\n", { agentIds: ["builtin", "other"] });
    assert.ok(result.ok);
    assert.equal(result.config.defaultAgent, "other");
  });

  it("accepts min_permission read but warns that anyone who can read may spend", () => {
    const result = parseRepoConfig("min_permission: read\n", { agentIds });
    assert.ok(result.ok);
    assert.equal(result.config.minPermission, "read");
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0] ?? "", /anyone who can read/);
  });

  it("never rounds a tiny timeout down to zero", () => {
    const result = parseRepoConfig("limits: { timeout_minutes: 0.001 }\n", { agentIds });
    assert.ok(result.ok);
    assert.equal(result.config.limits.timeoutS, 1);
  });

  it("reports every wrong value at once, each under its key, saying what is allowed", () => {
    const problems = problemsOf(parseRepoConfig(fixture("wrong-types.yml"), { agentIds }));
    assert.deepEqual([...problems.keys()].sort(), [
      "agents[1]",
      "allow_workflow_changes",
      "approval_timeout",
      "approve_permission",
      "budget.tokens",
      "budget.usd",
      "default_agent",
      "limits.cpus",
      "limits.memory_mb",
      "limits.pids",
      "limits.timeout_minutes",
      "min_permission",
      "model",
      "require_distinct_approver",
    ]);
    assert.match(problems.get("approval_timeout") ?? "", /a duration such as 30m, 72h or 7d/);
    assert.equal(problems.get("min_permission"), "must be one of read, triage, write, maintain, admin");
    assert.match(problems.get("limits.memory_mb") ?? "", /at least 64/);
    assert.match(problems.get("budget.usd") ?? "", /greater than 0 and at most 1000/);
    // YAML 1.2: `yes` is a string, not true.
    assert.match(problems.get("allow_workflow_changes") ?? "", /true or false \(found a string\)/);
  });

  it("does not echo the file's values back (they end up in a GitHub reply)", () => {
    const result = parseRepoConfig(fixture("wrong-types.yml"), { agentIds });
    assert.ok(!result.ok);
    const text = JSON.stringify(result.problems);
    for (const value of ["nobody", "owner", "<script>", "many"]) assert.ok(!text.includes(value), value);
  });

  it("names each unknown key, nested ones by their path, and the keys allowed there", () => {
    const problems = problemsOf(parseRepoConfig(fixture("unknown-keys.yml"), { agentIds }));
    assert.deepEqual([...problems.keys()].sort(), [
      "__proto__",
      "budget.dollars",
      "limits.memory",
      "min_permision",
    ]);
    assert.match(problems.get("min_permision") ?? "", /unknown key; allowed here: .*min_permission/);
    assert.equal(problems.get("budget.dollars"), "unknown key; allowed here: usd, tokens");
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined, "Object.prototype polluted");
  });

  it("refuses agents this Airlock does not run, a default agent not listed, duplicates and an empty list", () => {
    const problems = problemsOf(
      parseRepoConfig("agents: [builtin, ghost, builtin]\ndefault_agent: other\n", { agentIds }),
    );
    assert.equal(
      problems.get("agents[1]"),
      `is not an agent this Airlock runs; allowed: ${agentIds.join(", ")}`,
    );
    assert.equal(problems.get("agents"), "lists the same agent more than once");
    assert.equal(problems.get("default_agent"), "must be one of the agents listed under agents");
    assert.match(
      problemsOf(parseRepoConfig("agents: []\n", { agentIds })).get("agents") ?? "",
      /non-empty list/,
    );
  });

  it("refuses rather than guesses when the default agent is not in the catalog", () => {
    assert.match(
      problemsOf(parseRepoConfig("{}", { agentIds: ["other"] })).get("agents") ?? "",
      /allowed: other/,
    );
    assert.ok(!parseRepoConfig(undefined, { agentIds: ["other"] }).ok);
    assert.deepEqual(defaultRepoConfig(["other"]).agents, ["other"]);
  });

  it("reports a YAML syntax error with its line and column, without quoting the file", () => {
    const problems = problemsOf(parseRepoConfig(fixture("malformed.yml"), { agentIds }));
    assert.deepEqual([...problems.keys()], ["(yaml)"]);
    assert.match(problems.get("(yaml)") ?? "", /at line 2, column 1$/);
    assert.match(problemsOf(parseRepoConfig("a: 1\na: 2\n", { agentIds })).get("(yaml)") ?? "", /unique/);
  });

  it("refuses a billion-laughs file quickly instead of expanding it", () => {
    const started = performance.now();
    const problems = problemsOf(parseRepoConfig(fixture("evil.yml"), { agentIds }));
    assert.match(problems.get("(yaml)") ?? "", /alias/);
    assert.ok(performance.now() - started < 1000, "took longer than a second");
  });

  it("refuses a file over 64 KiB, a top level that is not a mapping, and deep nesting", () => {
    const big = `# ${"x".repeat(64 * 1024)}\n`;
    assert.match(problemsOf(parseRepoConfig(big, { agentIds })).get("(file)") ?? "", /64 KiB/);
    for (const text of ["- builtin\n", "just text\n", "42\n"]) {
      assert.match(
        problemsOf(parseRepoConfig(text, { agentIds })).get("(top level)") ?? "",
        /must be a mapping/,
        text,
      );
    }
    const deep = `agents: ${"[".repeat(20_000)}`;
    assert.ok(!parseRepoConfig(deep, { agentIds }).ok);
  });

  it("ignores YAML 1.1 switches: no merge keys, no yes/no booleans", () => {
    const problems = problemsOf(
      parseRepoConfig(
        "%YAML 1.1\n---\n<<: { allow_workflow_changes: true }\nrequire_distinct_approver: no\n",
        {
          agentIds,
        },
      ),
    );
    assert.ok(problems.has('"<<"'), [...problems.keys()].join());
    assert.match(problems.get("require_distinct_approver") ?? "", /found a string/);
  });

  it("never throws, whatever the text", () => {
    const samples = [
      "\u0000",
      "!!binary aGVsbG8=",
      "a: !custom 1",
      "? [a]\n: 1",
      "&a a: *a",
      "a: *undefined",
      "\t\t-",
    ];
    for (const text of samples) assert.doesNotThrow(() => parseRepoConfig(text, { agentIds }), text);
  });
});
