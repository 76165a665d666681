import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { getAgent } from "../../core/agents/get-agent.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import type { Database } from "../../core/db/open-database.ts";
import { listRunEvents } from "../../core/db/runs.ts";
import { auditEvents, llmCalls, runs } from "../../core/db/schema.ts";
import { createLogger } from "../../core/logger.ts";
import { sumRunFigures } from "../../core/summary/sum-run-figures.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import type { RunDeps } from "../../runner/run/run-deps.ts";
import { createBareRemote, createSourceRepo, git } from "../helpers/git-repo.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startGitHttpServer, type GitHttpServer } from "../relay/git-http-server.ts";
import { startTurnScriptedUpstream } from "../agents/start-turn-scripted-upstream.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const tokenSecret = "test-token-secret-execute-run-0123456789abcdef";
const ceiling = { memoryMb: 2048, cpus: 2, pids: 512, timeoutS: 300 };

function call(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

/** A repository of its own under `dir`, one commit on main holding `files`. */
function makeRepo(dir: string, files: Record<string, string>): Promise<string> {
  return createSourceRepo(join(dir, `repo-${Math.random().toString(36).slice(2)}`), files);
}

/** A repository with one README, served over git's smart HTTP as `<server>/repo.git`. */
async function serveRepoOverHttp(
  dir: string,
  readme: string,
  server: Omit<Parameters<typeof startGitHttpServer>[0], "projectRoot">,
): Promise<{ bare: string; server: GitHttpServer }> {
  const served = join(dir, `served-${Math.random().toString(36).slice(2)}`);
  await mkdir(served, { recursive: true });
  const bare = createBareRemote(await makeRepo(dir, { "README.md": readme }), join(served, "repo.git"));
  return { bare, server: await startGitHttpServer({ projectRoot: served, ...server }) };
}

describe("recordAndRunLocalRun: one whole local run (real Docker, git, proxy, ledger)", () => {
  let upstream: ScriptedUpstream;
  let turns: Awaited<ReturnType<typeof startTurnScriptedUpstream>>;
  let dir: string;
  let image: { ref: string; id: string };
  const databases: Database[] = [];

  before(async () => {
    const built = await buildAgentImage(runtime, { agent: getAgent("builtin") });
    image = { ref: built.ref, id: built.image.id };
    upstream = await startScriptedUpstream();
    turns = await startTurnScriptedUpstream(upstream.url);
    dir = await mkdtemp(join(tmpdir(), "airlock-execute-run-"));
  });

  after(async () => {
    await turns?.close();
    for (const d of databases) await d.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    // Last: it throws when the upstream saw a request nobody expected.
    await upstream?.close();
  });

  async function openDb(): Promise<Database> {
    const kinds = testDatabaseKinds();
    // The long run on real Postgres when there is one; run-command.test.ts runs one on PGlite.
    const kind = kinds.find((k) => k.name === "postgres" && k.skip === undefined) ?? kinds[0]!;
    const database = await kind.open();
    databases.push(database);
    return database;
  }

  function depsFor(database: Database): RunDeps {
    return {
      db: database.db,
      runtime,
      logger,
      tokenSecret,
      upstreams: {
        openai: { baseUrl: `${turns.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
      },
      dataDir: join(dir, "data"),
      ceiling,
      runnerId: `test-execute-run-${process.pid}`,
      ensureImage: () => Promise.resolve(image),
      proxyRetry: { maxRetries: 0 },
    };
  }

  it("edits two files and runs a command: the branch holds exactly those changes, trailers name the ledger, figures match the rows", async (t) => {
    const database = await openDb();
    const repo = await makeRepo(dir, {
      "src/a.js": 'export const a = "alpha";\n',
      "src/b.js": 'export const b = "beta";\n',
      "README.md": "# demo\n",
    });
    upstream.define("two.0", call("edit_file", { path: "src/a.js", old: "alpha", new: "ALPHA" }));
    upstream.define("two.1", call("edit_file", { path: "src/b.js", old: "beta", new: "BETA" }));
    upstream.define("two.2", {
      ...call("run_command", { argv: ["node", "-e", "console.log(1+1)"] }),
      inputTokens: 700,
    });
    upstream.define(
      "two.3",
      call("write_file", { path: ".github/workflows/evil.yml", content: "on: push\n" }),
    );
    upstream.define("two.4", call("finish", { summary: "Upper-cased the two constants." }));
    const declaredBefore = { ...upstream.totals.openai };
    const states: string[] = [];

    const result = await recordAndRunLocalRun(depsFor(database), {
      repo,
      agent: "builtin",
      prompt: "Upper-case the constants in src/. [[script:two]]",
      onProgress: (e) => states.push(e.state),
    });

    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
    assert.deepEqual(states, ["preparing", "running", "publishing", "succeeded"]);
    assert.equal(result.branch, `airlock/${result.runId}`);

    // The branch in the --repo holds exactly the two edits, on top of main.
    assert.equal(
      git(repo, ["rev-parse", `${result.branch}^`]).trim(),
      git(repo, ["rev-parse", "main"]).trim(),
    );
    assert.equal(git(repo, ["rev-parse", result.branch!]).trim(), result.commit);
    assert.equal(
      git(repo, ["diff", "--name-status", "main", result.branch!]).trim(),
      "M\tsrc/a.js\nM\tsrc/b.js",
    );
    assert.equal(git(repo, ["show", `${result.branch}:src/a.js`]).trim(), 'export const a = "ALPHA";');
    const message = git(repo, ["log", "-1", "--format=%B", result.branch!]).trim();
    assert.match(
      message,
      /^Airlock: Upper-case the constants in src\/\. \[\[script:two\]\]\n\nUpper-cased the two constants\.\n\n/,
    );
    const trailers = git(repo, ["log", "-1", "--format=%(trailers:only,unfold)", result.branch!]).trim();
    const auditTrailer = /^Airlock-Audit: ([0-9a-f]{64})$/m.exec(trailers)?.[1];
    assert.match(trailers, new RegExp(`^Airlock-Run: ${result.runId}$`, "m"));
    assert.ok(auditTrailer, trailers);

    // The ledger verifies; the trailer is the head at commit time: the relay.started entry,
    // and relay.committed (which records this commit) chains directly from it.
    const verification = await verifyAuditChain(database.db, result.runId, tokenSecret);
    assert.equal(verification.ok, true, JSON.stringify(verification));
    const entries = await database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.runId, result.runId))
      .orderBy(asc(auditEvents.seq));
    const atTrailer = entries.findIndex((e) => e.hash === auditTrailer);
    assert.equal(entries[atTrailer]?.type, "relay.started");
    assert.equal(entries[atTrailer + 1]?.type, "relay.committed");
    assert.equal(entries[atTrailer + 1]?.prevHash, auditTrailer);
    assert.equal(entries[atTrailer + 1]?.data.commit, result.commit);
    if (verification.ok) assert.equal(verification.head, entries.at(-1)?.hash);
    // The trailer checks as a checkpoint: the commit, push and finish entries follow it.
    const atTrailerCheck = await verifyAuditChain(database.db, result.runId, tokenSecret, {
      expectedHead: auditTrailer,
    });
    assert.deepEqual(atTrailerCheck.ok && atTrailerCheck.checkpoint, { position: atTrailer + 1 });
    assert.deepEqual(
      entries.map((e) => e.type),
      [
        "run.started",
        "workspace.prepared",
        "image.ready",
        "llm.call",
        "llm.call",
        "llm.call",
        "llm.call",
        "llm.call",
        "sandbox.exit",
        "agent.summary",
        "relay.started",
        "relay.committed",
        "relay.pushed",
        "run.finished",
      ],
    );

    // Figures: the rows, the ledger, the summary and what the upstream declared agree.
    const rows = await database.db
      .select()
      .from(llmCalls)
      .where(eq(llmCalls.runId, result.runId))
      .orderBy(asc(llmCalls.id));
    assert.equal(rows.length, 5);
    assert.deepEqual(
      entries.filter((e) => e.type === "llm.call").map((e) => e.data.id),
      rows.map((r) => r.id),
    );
    const figures = sumRunFigures(rows);
    t.diagnostic(
      `figures: ${rows.length} calls, ${figures.inputTokens} in / ${figures.outputTokens} out tokens, $${figures.costUsd}; ` +
        `sandbox ${result.sandbox?.durationMs} ms; chain ${entries.length} entries`,
    );
    assert.equal(figures.inputTokens, upstream.totals.openai.inputTokens - declaredBefore.inputTokens);
    assert.equal(figures.outputTokens, upstream.totals.openai.outputTokens - declaredBefore.outputTokens);
    assert.ok(figures.inputTokens >= 700);
    const summary = result.summaryMarkdown;
    assert.match(summary, new RegExp(`^## Airlock run \`${result.runId}\`: succeeded$`, "m"));
    assert.match(summary, /^\| LLM calls \| 5 \|$/m);
    assert.ok(
      summary.includes(
        `| Tokens | ${figures.inputTokens.toLocaleString("en-US")} in / ${figures.outputTokens.toLocaleString("en-US")} out (cache: 0 read, 0 written) |`,
      ),
      summary,
    );
    assert.ok(summary.includes(`| Cost | $${figures.costUsd} |`), summary);
    assert.notEqual(figures.costUsd, "0.00");
    assert.match(summary, /\| Models \| `gpt-4\.1-mini` \(5\) \|/);
    assert.ok(summary.includes(`image \`${image.ref}\` (\`${image.id}\`)`), summary);
    assert.ok(summary.includes(`| Audit chain | \`${entries.at(-1)!.hash}\` (14 entries;`), summary);
    assert.match(
      summary,
      /### Files changed \(2\)\n\n- `src\/a\.js` \(modified\)\n- `src\/b\.js` \(modified\)/,
    );
    assert.match(
      summary,
      /### Held back or refused \(1\)\n\n- held back: `\.github\/workflows\/evil\.yml`: added under \.github\/workflows\//,
    );
    assert.match(summary, /<details><summary>Per-call log \(5 LLM calls\)<\/summary>/);
    for (const row of rows) {
      assert.ok(
        summary.includes(`| ${row.id} | gpt-4.1-mini | 200 | ${row.inputTokens} | ${row.outputTokens} |`),
        summary,
      );
    }

    const [run] = await database.db.select().from(runs).where(eq(runs.id, result.runId));
    assert.equal(run?.state, "succeeded");
    assert.equal(run?.kind, "local");
    const events = (await listRunEvents(database.db, result.runId)).map((e) => e.type);
    assert.deepEqual(
      events.filter((t) => t.startsWith("state.")),
      ["state.preparing", "state.running", "state.publishing", "state.succeeded"],
    );
    // The host workspace is gone once the relay is done.
    await assert.rejects(access(join(dir, "data", "runs", result.runId)));
    await assert.rejects(access(join(dir, "data", "sockets", result.runId)));
  });

  it("budget exhaustion mid-run ends budget_exhausted and relays the partial result, explained", async () => {
    const database = await testDatabaseKinds()[0]!.open();
    databases.push(database);
    const repo = await makeRepo(dir, { "README.md": "# demo\n" });
    upstream.define("spend.0", {
      ...call("write_file", { path: "partial.txt", content: "half\n" }),
      inputTokens: 5000,
    });
    upstream.define("spend.1", call("finish", { summary: "never reached" }));

    const result = await recordAndRunLocalRun(depsFor(database), {
      repo,
      agent: "builtin",
      prompt: "Do a lot of work. [[script:spend]]",
      // Enough for the first call's reservation (its input bound is about 1,650 tokens),
      // which then declares 5,000 input tokens: the second call finds the budget spent.
      budgetTokens: 3000,
    });

    assert.equal(result.outcome, "budget_exhausted", result.summaryMarkdown);
    assert.match(result.reason, /^the proxy refused a call: run \S+ has spent its token budget/);
    assert.equal(git(repo, ["diff", "--name-status", "main", result.branch!]).trim(), "A\tpartial.txt");
    assert.match(
      git(repo, ["log", "-1", "--format=%s", result.branch!]).trim(),
      /^\[partial: budget_exhausted\] Airlock: /,
    );
    const rows = await database.db.select().from(llmCalls).where(eq(llmCalls.runId, result.runId));
    assert.deepEqual(rows.map((r) => r.status).sort(), [200, 429]);
    const summary = result.summaryMarkdown;
    assert.match(summary, /: budget_exhausted$/m);
    assert.match(
      summary,
      /> \*\*Partial result\.\*\* The run ended budget_exhausted \(the proxy refused a call: run \S+ has spent its token budget/,
    );
    assert.match(summary, /\| LLM calls \| 2 \(1 refused or failed\) \|/);
    assert.match(summary, /\| Budget \| 3,000 tokens \|/);
    assert.match(summary, /the run's LLM budget is exhausted/);
    assert.match(summary, /- `partial\.txt` \(added\)/);
    const verification = await verifyAuditChain(database.db, result.runId, tokenSecret);
    assert.equal(verification.ok, true);
  });
  it("a run past its deadline ends timed_out and still relays what the agent wrote, explained", async (t) => {
    const database = await testDatabaseKinds()[0]!.open();
    databases.push(database);
    const repo = await makeRepo(dir, { "README.md": "# demo\n" });
    upstream.define("late.0", call("write_file", { path: "first.txt", content: "1\n" }));
    upstream.define("late.1", { firstByteDelayMs: 15_000, text: "too late" });
    const result = await recordAndRunLocalRun(depsFor(database), {
      repo,
      agent: "builtin",
      prompt: "Take long. [[script:late]]",
      timeoutS: 4,
    });
    t.diagnostic(`timed out after ${result.sandbox?.durationMs} ms (agent exit ${result.sandbox?.exitCode})`);
    assert.equal(result.outcome, "timed_out", result.summaryMarkdown);
    assert.equal(result.reason, "the deadline of 4 s passed");
    assert.equal(git(repo, ["diff", "--name-status", "main", result.branch!]).trim(), "A\tfirst.txt");
    assert.match(
      result.summaryMarkdown,
      /> \*\*Partial result\.\*\* The run ended timed_out \(the deadline of 4 s passed\)/,
    );
    assert.match(
      result.summaryMarkdown,
      /it was stopped \(SIGTERM: the run's deadline passed or it was cancelled\)/,
    );
    assert.match(
      git(repo, ["log", "-1", "--format=%B", result.branch!]).trim(),
      /^\[partial: timed_out\] Airlock: Take long\./,
    );
  });

  it("a cancel while the agent runs kills the sandbox, publishes nothing and records cancelled", async () => {
    const database = await testDatabaseKinds()[0]!.open();
    databases.push(database);
    const repo = await makeRepo(dir, { "README.md": "# demo\n" });
    upstream.define("slow.0", call("write_file", { path: "started.txt", content: "1\n" }));
    // The agent's second call is held until the test ends: the cancel lands while it runs.
    let release: () => void = () => undefined;
    upstream.define("slow.1", { holdFirstByte: new Promise<void>((r) => (release = r)), text: "too late" });
    const controller = new AbortController();
    const running = recordAndRunLocalRun(
      { ...depsFor(database), signal: controller.signal },
      { repo, agent: "builtin", prompt: "Work slowly. [[script:slow]]" },
    );
    const seen = await Promise.race([
      waitUntil("the agent's second call", () => upstream.requests.some((r) => r.script === "slow.1"), {
        timeoutMs: 120_000,
      }),
      running.then((r) => `the run ended first: ${r.outcome}`),
    ]);
    assert.equal(seen, true, String(seen));
    const cancelledAt = Date.now();
    controller.abort();
    const result = await running;
    release();
    assert.equal(result.outcome, "cancelled", result.summaryMarkdown);
    assert.ok(Date.now() - cancelledAt < 15_000, "the cancel did not stop the run promptly");
    assert.equal(result.branch, undefined);
    assert.equal(git(repo, ["branch", "--list", "airlock/*"]).trim(), "");
    assert.match(result.summaryMarkdown, /^\| Branch \| none: the run was cancelled \|$/m);
    const [row] = await database.db.select().from(runs).where(eq(runs.id, result.runId));
    assert.equal(row?.state, "cancelled");
    assert.equal((await verifyAuditChain(database.db, result.runId, tokenSecret)).ok, true);
    await assert.rejects(access(join(dir, "data", "runs", result.runId)));
  });

  it("a repository that does not exist fails the run before any container, recorded and verifiable", async () => {
    const database = await testDatabaseKinds()[0]!.open();
    databases.push(database);
    const runId = `rmissing${process.pid}`;
    await assert.rejects(
      recordAndRunLocalRun(depsFor(database), {
        repo: join(dir, "no-such-repo"),
        agent: "builtin",
        prompt: "x",
        runId,
      }),
      /The repository path .*no-such-repo does not exist/,
    );
    const [row] = await database.db.select().from(runs).where(eq(runs.id, runId));
    assert.equal(row?.state, "failed");
    assert.match(row?.outcomeReason ?? "", /does not exist/);
    const types = (
      await database.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.runId, runId))
        .orderBy(asc(auditEvents.seq))
    ).map((e) => e.type);
    assert.deepEqual(types, ["run.started", "run.error", "run.finished"]);
    assert.equal((await verifyAuditChain(database.db, runId, tokenSecret)).ok, true);
    await assert.rejects(access(join(dir, "data", "runs", runId)));
  });
  it("a git URL is cloned and pushed with the operator's own credential helper; the secret is stored nowhere", async () => {
    const database = await testDatabaseKinds()[0]!.open();
    databases.push(database);
    const password = "operator-pass-7f3a9c1e5b";
    const { bare, server } = await serveRepoOverHttp(dir, "# over http\n", {
      username: "operator",
      password,
    });
    // The operator's global git config names the helper; no repository can choose it.
    const globalConfig = join(dir, "operator.gitconfig");
    await writeFile(
      globalConfig,
      `[credential]\n\thelper = "!f() { echo username=operator; echo password=${password}; }; f"\n`,
    );
    const previous = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = globalConfig;
    upstream.define("http.0", call("write_file", { path: "NOTES.md", content: "over http\n" }));
    upstream.define("http.1", call("finish", { summary: "Wrote NOTES.md." }));
    try {
      const result = await recordAndRunLocalRun(depsFor(database), {
        repo: `${server.url}/repo.git`,
        agent: "builtin",
        prompt: "Write notes. [[script:http]]",
      });
      assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
      assert.equal(git(bare, ["diff", "--name-status", "main", result.branch!]).trim(), "A\tNOTES.md");
      assert.ok(server.authorizations.some((a) => a.startsWith("Basic ")));
      const stored = JSON.stringify([
        await database.db.select().from(runs).where(eq(runs.id, result.runId)),
        await database.db.select().from(auditEvents).where(eq(auditEvents.runId, result.runId)),
        await database.db.select().from(llmCalls).where(eq(llmCalls.runId, result.runId)),
      ]);
      assert.ok(!stored.includes(password), "the operator's password reached the database");
      assert.ok(!result.summaryMarkdown.includes(password));
    } finally {
      if (previous === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = previous;
      await server.close();
    }
  });
  it("a refused push ends the run failed with the summary, and keeps the workspace for the operator", async () => {
    const database = await testDatabaseKinds()[0]!.open();
    databases.push(database);
    const { server } = await serveRepoOverHttp(dir, "# refused\n", {
      username: "u",
      password: "p-refused-1234",
      failPushes: true,
    });
    upstream.define("refused.0", call("write_file", { path: "WORK.md", content: "precious\n" }));
    upstream.define("refused.1", call("finish", { summary: "Wrote WORK.md." }));
    try {
      const result = await recordAndRunLocalRun(depsFor(database), {
        repo: `http://u:p-refused-1234@${server.url.slice("http://".length)}/repo.git`,
        agent: "builtin",
        prompt: "Write. [[script:refused]]",
      });
      assert.equal(result.outcome, "failed");
      assert.equal(result.branch, undefined);
      assert.match(result.reason, /^publishing failed: .*; the agent's workspace is kept in \S+\/workspace$/);
      assert.ok(!result.reason.includes("p-refused-1234"), result.reason);
      assert.ok(!result.summaryMarkdown.includes("p-refused-1234"));
      assert.match(
        result.summaryMarkdown,
        /^\| Branch \| `airlock\/\S+` at `[0-9a-f]{40}` \(not pushed\) \|$/m,
      );
      const kept = join(dir, "data", "runs", result.runId, "workspace", "WORK.md");
      assert.equal(await readFile(kept, "utf8"), "precious\n");
      const [row] = await database.db.select().from(runs).where(eq(runs.id, result.runId));
      assert.equal(row?.repo?.includes("p-refused-1234"), false);
      assert.equal((await verifyAuditChain(database.db, result.runId, tokenSecret)).ok, true);
      await rm(join(dir, "data", "runs", result.runId), { recursive: true, force: true });
    } finally {
      await server.close();
    }
  });
});
