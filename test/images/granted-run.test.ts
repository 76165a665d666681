import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { auditEvents } from "../../core/db/schema.ts";
import { parseImageGrant } from "../../runner/images/image-grant.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import type { RunDeps } from "../../runner/run/run-deps.ts";
import { createSourceRepo } from "../helpers/git-repo.ts";
import {
  scriptedCall,
  startScriptedLocalRuns,
  type ScriptedLocalRuns,
} from "../helpers/start-scripted-local-runs.ts";
import { scriptedUpstreamDefaults } from "../stand-ins/scripted-llm-upstream.ts";

const tokenSecret = "test-token-secret-granted-run-0123456789abcdef";
const bin = resolve(import.meta.dirname, "../../bin/airlock.js");

const call = scriptedCall;

/**
 * Issue 10 §8: `airlock run --grant apt:jq` gives the builtin agent jq; the same run
 * without the grant does not have it. Real Docker, Postgres, proxy and relay; the model is
 * the scripted stand-in, which makes the agent call `run_command jq --version` and then
 * `finish`. What the command printed reaches the model as the tool result of turn 1.
 */
describe("a local run with --grant apt:jq (builtin agent, scripted model)", () => {
  let h: ScriptedLocalRuns;
  let upstream: ScriptedLocalRuns["upstream"];
  let database: ScriptedLocalRuns["database"];
  let dir: string;

  before(async () => {
    h = await startScriptedLocalRuns("granted-run", tokenSecret);
    ({ upstream, database, dir } = h);
  });

  after(async () => {
    await h?.close();
  });

  // No ensureImage: the run builds its own image, granted or not (the real default).
  const deps = (overrides: Partial<RunDeps> = {}) => h.deps(overrides);

  /** The text run_command returned to the agent, as the model saw it in the next turn. */
  function toolResultOf(script: string): string {
    const request = upstream.requests.find((r) => r.script === `${script}.1`);
    const messages = (request?.body as { messages?: { role: string; content: unknown }[] } | undefined)
      ?.messages;
    const tool = messages?.findLast((m) => m.role === "tool");
    assert.ok(tool, `no tool result reached the model in ${script}.1`);
    return String(tool.content);
  }

  function defineJqScript(script: string): void {
    upstream.define(`${script}.0`, call("run_command", { argv: ["jq", "--version"] }));
    upstream.define(`${script}.1`, call("finish", { summary: "Checked for jq." }));
  }

  it("with the grant: the agent's jq --version works, the ledger records the grant, approver and SBOM delta, the summary shows them", async () => {
    defineJqScript("withjq");
    const repo = await createSourceRepo(join(dir, "with"), { "README.md": "# with\n" });
    const result = await recordAndRunLocalRun(deps(), {
      repo,
      agent: "builtin",
      prompt: "Check jq. [[script:withjq]]",
      grants: [parseImageGrant("apt:jq")],
    });
    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
    const output = toolResultOf("withjq");
    assert.match(output, /exit code 0/);
    assert.match(output, /jq-1\.6/);

    const entries = await database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.runId, result.runId))
      .orderBy(asc(auditEvents.seq));
    const ready = entries.find((e) => e.type === "image.ready")?.data as {
      ref: string;
      grants?: unknown;
      grantedBy?: string;
      sbomDelta?: { dpkg: { name: string; version: string }[] };
    };
    assert.deepEqual(ready.grants, [{ kind: "apt", name: "jq" }]);
    assert.equal(ready.grantedBy, "operator (--grant)");
    assert.ok(
      ready.sbomDelta?.dpkg.some((p) => p.name === "jq"),
      JSON.stringify(ready.sbomDelta),
    );
    assert.match(ready.ref, /^airlock\/builtin:[0-9a-f]{64}$/);
    const verification = await verifyAuditChain(database.db, result.runId, tokenSecret);
    assert.equal(verification.ok, true, JSON.stringify(verification));

    const summary = result.summaryMarkdown;
    assert.match(summary, /^\| Capabilities \| 1 granted \(listed below\) \|$/m);
    assert.match(
      summary,
      /^- `apt:jq`: \*\*granted\*\* by `operator \(--grant\)` at \d{4}-\d\d-\d\dT[\d:]+Z \(asked: pre-approved before the run started\)$/m,
    );
    assert.ok(summary.includes(`image \`${ready.ref}\``), summary);
    assert.match(summary, /### Packages added to the image \(\d+\)\n\n(- dpkg .*\n)*- dpkg `jq` 1\.6-/);
  });

  it("without the grant: the same command is not found, and the run starts the agent's own image", async () => {
    defineJqScript("nojq");
    const repo = await createSourceRepo(join(dir, "without"), { "README.md": "# without\n" });
    const result = await recordAndRunLocalRun(deps(), {
      repo,
      agent: "builtin",
      prompt: "Check jq. [[script:nojq]]",
    });
    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
    assert.match(toolResultOf("nojq"), /jq: command not found in the sandbox/);
    const ready = (
      await database.db.select().from(auditEvents).where(eq(auditEvents.runId, result.runId))
    ).find((e) => e.type === "image.ready")?.data as Record<string, unknown>;
    assert.deepEqual(Object.keys(ready).sort(), ["id", "ref"]);
    assert.match(result.summaryMarkdown, /^\| Capabilities \| none requested \|$/m);
    assert.doesNotMatch(result.summaryMarkdown, /Packages added to the image/);
  });

  it("an ensureImage that ignores the grants is refused: the agent never starts without what was granted", async () => {
    const repo = await createSourceRepo(join(dir, "ignored"), { "README.md": "# ignored\n" });
    await assert.rejects(
      recordAndRunLocalRun(
        deps({ ensureImage: () => Promise.resolve({ ref: "airlock/builtin:latest", id: "sha256:x" }) }),
        { repo, agent: "builtin", prompt: "never runs", grants: [parseImageGrant("apt:jq")] },
      ),
      /was not built with the run's grants \(missing: apt:jq\); refusing to run the agent without them/,
    );
  });

  it("airlock run --grant apt:jq as a child process: the agent has jq, the printed summary names the grant", async () => {
    defineJqScript("clijq");
    const repo = await createSourceRepo(join(dir, "cli"), { "README.md": "# cli\n" });
    // A fresh shell's environment: the embedded database under cwd, the scripted model as the LLM.
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      AIRLOCK_TOKEN_SECRET: tokenSecret,
      OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
      OPENAI_BASE_URL: `${h.modelUrl}/v1`,
    };
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        bin,
        "run",
        "--repo",
        repo,
        "--agent",
        "builtin",
        "--prompt",
        "Check jq. [[script:clijq]]",
        "--grant",
        "apt:jq",
      ],
      { env, cwd: dir, timeout: 240_000 },
    );
    assert.match(stdout, /^## Airlock run `r[a-z0-9]+`: succeeded$/m);
    assert.match(stdout, /^\| Capabilities \| 1 granted \(listed below\) \|$/m);
    assert.match(stdout, /^- `apt:jq`: \*\*granted\*\* by `operator \(--grant\)`/m);
    assert.match(stdout, /^- dpkg `jq` 1\.6-/m);
    assert.match(
      stderr,
      /airlock: image airlock\/builtin:[0-9a-f]{64} with apt:jq \(approved by you, --grant\)/,
    );
    assert.match(toolResultOf("clijq"), /jq-1\.6/);
  });
});
