import assert from "node:assert/strict";
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { main } from "../../cli/main.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import type { Database } from "../../core/db/open-database.ts";
import { ensureRun } from "../../core/db/runs.ts";
import { llmCalls } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage, type BuiltAgentImage } from "../../runner/images/build-agent-image.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import { serveProxyOnSocket, type ServedProxy } from "../../runner/proxy/serve-proxy.ts";
import { runSandboxed, type SandboxResult } from "../../runner/sandbox/run-sandboxed.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";
import { startTurnScriptedUpstream } from "./start-turn-scripted-upstream.ts";
import { createTextSink } from "../helpers/create-text-sink.ts";

const logger = createLogger("silent");
const runtime = createDockerContainerRuntime({ logger });
const agent = getAgent("builtin");
const tokenSecret = "test-token-secret-builtin-agent-0123456789abcdef";
const ceiling = { memoryMb: 2048, cpus: 2, pids: 512, timeoutS: 300 };
const runnerId = `test-builtin-agent-${process.pid}`;

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Shorthand for a scripted tool call. */
function call(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

describe("the builtin agent in its image, through the real proxy", () => {
  let built: BuiltAgentImage;
  let database: Database;
  let upstream: ScriptedUpstream;
  let turns: Awaited<ReturnType<typeof startTurnScriptedUpstream>>;
  let dir: string;

  before(async () => {
    built = await buildAgentImage(runtime, { agent });
    database = await testDatabaseKinds()[0]!.open();
    upstream = await startScriptedUpstream();
    turns = await startTurnScriptedUpstream(upstream.url);
    dir = await mkdtemp(join(tmpdir(), "airlock-builtin-agent-"));
    await chmod(dir, 0o755);
  });

  after(async () => {
    await turns?.close();
    await database?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    // Last: it throws when the upstream saw a request nobody expected.
    await upstream?.close();
  });

  /**
   * One run as `airlock run` will do it: a run row, a token, the proxy on the run's socket,
   * a workspace owned by the sandbox user, the agent's image sealed.
   */
  async function runAgent(options: {
    script: string;
    files: Record<string, string>;
    env?: Record<string, string>;
    budgetTokens?: number;
    timeoutS?: number;
    killGraceMs?: number;
  }): Promise<{
    result: SandboxResult;
    out: string;
    err: string;
    workspace: string;
    runId: string;
    token: string;
  }> {
    const runId = newRunId();
    await ensureRun(database.db, {
      id: runId,
      kind: "manual",
      state: "running",
      budgetTokens: options.budgetTokens ?? null,
    });
    const token = mintRunToken({
      runId,
      attempt: 0,
      expiresAt: Math.floor(Date.now() / 1000) + 600,
      secret: tokenSecret,
    });
    const workspace = join(dir, `${runId}-workspace`);
    const socketDir = join(dir, `${runId}-socket`);
    await mkdir(join(workspace, ".airlock"), { recursive: true });
    await writeFile(
      join(workspace, ".airlock", "task.md"),
      `Untrusted task text follows.\n\n[[script:${options.script}]]\n`,
    );
    for (const [path, content] of Object.entries(options.files)) {
      await mkdir(join(workspace, path, ".."), { recursive: true });
      await writeFile(join(workspace, path), content);
    }
    for (const path of [
      workspace,
      ...(await readdir(workspace, { recursive: true })).map((p) => join(workspace, p)),
    ]) {
      await chown(path, 1001, 1001);
    }
    await mkdir(socketDir, { mode: 0o755 });
    await chmod(socketDir, 0o755);
    let proxy: ServedProxy | undefined;
    try {
      proxy = await serveProxyOnSocket({
        socketPath: join(socketDir, "llm.sock"),
        runId,
        db: database.db,
        tokenSecret,
        upstreams: {
          openai: { baseUrl: `${turns.url}/v1`, apiKey: scriptedUpstreamDefaults.openaiApiKey },
          anthropic: { baseUrl: turns.url, apiKey: scriptedUpstreamDefaults.anthropicApiKey },
        },
        retry: { maxRetries: 0 },
        logger,
      });
      const stdout = createTextSink();
      const stderr = createTextSink();
      const result = await runSandboxed({
        runtime,
        logger,
        image: built.ref,
        argv: [...agent.command],
        limits: { ...agent.defaultLimits, timeoutS: options.timeoutS ?? 120 },
        ...(options.killGraceMs === undefined ? {} : { killGraceMs: options.killGraceMs }),
        ceiling,
        runId,
        runnerId,
        workspaceDir: workspace,
        socketDir,
        env: { OPENAI_API_KEY: token, AIRLOCK_MODEL: agent.defaultModel, ...options.env },
        stdout,
        stderr,
      });
      await proxy.flush(10_000);
      return { result, out: stdout.text(), err: stderr.text(), workspace, runId, token };
    } finally {
      await proxy?.close();
    }
  }

  it("builds airlock/builtin:<content tag> on the base image, labelled, root-owned, and reuses the cache", async () => {
    assert.match(built.ref, /^airlock\/builtin:[0-9a-f]{64}$/);
    assert.equal(built.image.labels["airlock.agent"], "builtin");
    assert.equal(built.image.labels["airlock.base-image-id"], built.baseImage.id);
    assert.equal(built.image.labels["airlock.capabilities"], "");
    const again = await buildAgentImage(runtime, { agent });
    assert.equal(again.image.id, built.image.id);
    assert.equal(again.stepsRun, 0);
    assert.ok(again.durationMs < 15_000, `warm rebuild took ${again.durationMs} ms`);
    const latest = await runtime.inspectImage(built.latestRef);
    assert.equal(latest?.id, built.image.id);

    // The agent (uid 1001) must not be able to rewrite its own code or SDK.
    const out = createTextSink();
    const probe = await runSandboxed({
      runtime,
      logger,
      image: built.ref,
      argv: [
        "sh",
        "-c",
        "id -u; stat -c '%u %a %n' /opt/airlock-agent/agent/main.ts /opt/airlock-agent/node_modules/openai/index.mjs; " +
          "ls /opt/airlock-agent/node_modules/openai/src 2>&1 | head -1; node --version",
      ],
      ceiling,
      runId: newRunId(),
      runnerId,
      stdout: out,
    });
    assert.equal(probe.exitCode, 0);
    const lines = out.text().trim().split("\n");
    assert.equal(lines[0], "1001");
    assert.match(lines[1]!, /^0 644 \/opt\/airlock-agent\/agent\/main\.ts$/);
    assert.match(lines[2]!, /^0 644 \/opt\/airlock-agent\/node_modules\/openai\/index\.mjs$/);
    assert.match(lines[3]!, /No such file or directory/);
    assert.match(lines[4]!, /^v24\./);
  });

  it("airlock images build --agent builtin prints the content tag and reuses the cache", async () => {
    const out = createTextSink();
    const err = createTextSink();
    const code = await main(
      ["images", "build", "--agent", "builtin"],
      { AIRLOCK_LOG_LEVEL: "silent" },
      out,
      err,
    );
    assert.equal(code, 0, err.text());
    assert.equal(
      out.text().replace(/ in \d+\.\d s,/, " in <s> s,"),
      `built ${built.ref} (${built.image.id}, ${(built.image.sizeBytes / 1e6).toFixed(0)} MB) in <s> s, ` +
        `every step from cache\ntagged airlock/builtin:latest\n`,
    );
    assert.doesNotMatch(out.text(), /airlock\/base:/, "an existing base image is not rebuilt for --agent");
  });

  it("writes a file, edits another, runs a command and finishes (exit 0)", async () => {
    const summary = "Added notes/hello.txt and changed the greeting to Howdy.";
    upstream.define(
      "work.0",
      call("write_file", { path: "notes/hello.txt", content: "hello from the agent\n" }),
    );
    upstream.define("work.1", call("edit_file", { path: "src/greet.js", old: "Hello", new: "Howdy" }));
    upstream.define("work.2", call("run_command", { command: "node src/greet.js > greeting.txt" }));
    upstream.define(
      "work.3",
      call("request_capability", { kind: "apt", name: "jq", reason: "to check JSON" }),
    );
    upstream.define("work.4", call("edit_file", { path: ".git/config", old: "x", new: "y" }));
    upstream.define("work.5", call("finish", { summary }));
    const greet = 'console.log("Hello, world");\n';
    const r = await runAgent({
      script: "work",
      files: { "src/greet.js": greet, "README.md": "# demo\n" },
    });
    assert.equal(r.result.reason, "exited", r.err);
    assert.equal(r.result.exitCode, 0, r.err);

    assert.deepEqual(await listTree(r.workspace), [
      ".airlock/summary.md",
      ".airlock/task.md",
      "README.md",
      "greeting.txt",
      "notes/hello.txt",
      "src/greet.js",
    ]);
    assert.equal(await readFile(join(r.workspace, "notes/hello.txt"), "utf8"), "hello from the agent\n");
    assert.equal(await readFile(join(r.workspace, "src/greet.js"), "utf8"), greet.replace("Hello", "Howdy"));
    assert.equal(await readFile(join(r.workspace, "greeting.txt"), "utf8"), "Howdy, world\n");
    assert.equal(await readFile(join(r.workspace, "README.md"), "utf8"), "# demo\n");
    assert.equal(await readFile(join(r.workspace, ".airlock/summary.md"), "utf8"), `${summary}\n`);
    assert.equal(r.out, `${summary}\n`);

    // One model call per step, each carrying the previous tool results.
    assert.deepEqual(turns.turns.slice(-6), [0, 1, 2, 3, 4, 5]);
    const requests = upstream.requests.slice(-6);
    const last = requests.at(-1)?.body as {
      model: string;
      messages: { role: string; content: string }[];
      tools: unknown[];
    };
    assert.equal(last.model, "gpt-4.1-mini");
    assert.equal(last.tools.length, 7);
    const toolResults = last.messages.filter((m) => m.role === "tool").map((m) => m.content);
    assert.match(toolResults[0]!, /^created notes\/hello\.txt \(21 bytes\)$/);
    assert.match(toolResults[1]!, /^edited src\/greet\.js at line 1$/);
    assert.match(toolResults[2]!, /^exit code 0, /);
    // The request reached the run's proxy through the bridge and was stored: the host's answer.
    assert.match(toolResults[3]!, /^capability request for apt:jq \(pending, id \d+\): .*Finish your turn/);
    assert.match(toolResults[4]!, /^error: \.git\/config is inside \.git\/: writing there is refused/);
    const rows = await database.db.select().from(llmCalls).where(eq(llmCalls.runId, r.runId));
    assert.equal(rows.length, 6);

    const stepLines = r.err.split("\n").filter((l) => /^airlock-agent: step \d+\/40: /.test(l));
    const failures = stepLines.filter((l) => / error: /.test(l));
    assert.equal(failures.length, 1, r.err);
    assert.match(
      failures[0]!,
      /^airlock-agent: step 5\/40: edit_file error: \.git\/config is inside \.git\//,
    );
    assert.deepEqual(
      stepLines.filter((l) => !failures.includes(l)).map((l) => Number(/step (\d+)/.exec(l)?.[1])),
      [1, 2, 3, 4, 5, 6],
    );
    assert.match(stepLines[0]!, /write_file notes\/hello\.txt \(21 chars\)/);
    assert.match(stepLines[2]!, /run_command node src\/greet\.js > greeting\.txt/);
    assert.ok(
      !r.err.includes(r.token) && !r.out.includes(r.token),
      "the run token reached the agent's output",
    );
  });

  it("stops at AIRLOCK_MAX_STEPS with exit 4 and a summary that says so", async () => {
    for (let i = 0; i < 3; i++) upstream.define(`loop.${i}`, call("list_files", { path: "." }));
    const r = await runAgent({ script: "loop", files: { "a.txt": "a\n" }, env: { AIRLOCK_MAX_STEPS: "3" } });
    assert.equal(r.result.reason, "exited", r.err);
    assert.equal(r.result.exitCode, 4, r.err);
    assert.deepEqual(turns.turns.slice(-3), [0, 1, 2]);
    const summary = await readFile(join(r.workspace, ".airlock/summary.md"), "utf8");
    assert.match(
      summary,
      /stopped before finishing: it reached its step limit \(3 LLM calls, AIRLOCK_MAX_STEPS\)/,
    );
    assert.match(r.err, /stopped: reached the step limit \(3\) without finish/);
  });

  it("ends with exit 3 when the proxy refuses for budget, keeping the partial result", async () => {
    upstream.define("spend.0", {
      ...call("write_file", { path: "partial.txt", content: "half\n" }),
      inputTokens: 5000,
    });
    upstream.define("spend.1", call("finish", { summary: "never reached" }));
    const before = upstream.requests.length;
    // The first call must fit whole (its input bound is ~1,650 tokens plus a lowered cap),
    // and the upstream then bills past the budget: the second call is the proxy's to refuse.
    const r = await runAgent({ script: "spend", files: {}, budgetTokens: 3000 });
    assert.equal(r.result.reason, "exited", r.err);
    assert.equal(r.result.exitCode, 3, r.err);
    assert.equal(
      upstream.requests.length - before,
      1,
      "the budget refusal must come from the proxy, not the upstream",
    );
    assert.equal(await readFile(join(r.workspace, "partial.txt"), "utf8"), "half\n");
    const summary = await readFile(join(r.workspace, ".airlock/summary.md"), "utf8");
    assert.match(
      summary,
      /the run's LLM budget is exhausted \(LLM API error 429 \(budget_exceeded\): .*token budget/,
    );
    assert.match(summary, /Files it changed so far \(a partial result\):\n- partial\.txt/);
    assert.match(r.err, /step 2\/40: LLM API error 429 \(budget_exceeded\)/);
  });

  it("at the sandbox deadline, SIGTERM reaches the agent: exit 143 and a summary of the partial work", async () => {
    upstream.define("late.0", call("write_file", { path: "first.txt", content: "1\n" }));
    // The second call is held past the deadline, so the deadline certainly lands mid-call; the
    // first step has 10 s even on a loaded machine. SIGKILL would follow 30 s after SIGTERM.
    let release: () => void = () => undefined;
    upstream.define("late.1", { holdFirstByte: new Promise<void>((r) => (release = r)), text: "too late" });
    const r = await runAgent({ script: "late", files: {}, timeoutS: 10, killGraceMs: 30_000 }).finally(() =>
      release(),
    );
    assert.equal(r.result.reason, "deadline", r.err);
    assert.equal(r.result.exitCode, 143, r.err);
    assert.ok(
      r.result.durationMs < 30_000,
      `took ${r.result.durationMs} ms: the agent did not stop on SIGTERM`,
    );
    const summary = await readFile(join(r.workspace, ".airlock/summary.md"), "utf8");
    assert.match(summary, /it was stopped \(SIGTERM: the run's deadline passed or it was cancelled\)/);
    assert.match(summary, /- first\.txt/);
  });
});
