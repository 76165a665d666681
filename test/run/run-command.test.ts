import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createSourceRepo, git } from "../helpers/git-repo.ts";

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, "../../bin/airlock.js");
const secret = "test-token-secret-run-command-0123456789abcdef";

/** The environment of a fresh shell: no LLM keys, nothing of this process's test settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...extra,
  };
}

async function airlock(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, cwd, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** The demo run's llm.call entries in its exported ledger. */
function llmCallEntries(exported: string): { status: number; inputTokens: number }[] {
  return exported
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { type: string; data: { status: number; inputTokens: number } })
    .filter((entry) => entry.type === "llm.call")
    .map((entry) => entry.data);
}

describe("airlock run (the README's first command) as a child process", () => {
  let dir: string;
  let repo: string;
  /** The first test's run, in the embedded database of <dir>/.airlock. */
  let demoRunId: string | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-run-command-"));
    repo = join(dir, "my-project");
    await createSourceRepo(repo, { "README.md": "# my project\n" }, "first");
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("with no LLM configured: says so, runs the demo model for real, pushes airlock/<run>, exits 0, and the ledger verifies", async () => {
    const env = cleanEnv({ AIRLOCK_TOKEN_SECRET: secret });
    const r = await airlock(
      ["run", "--repo", repo, "--agent", "builtin", "--prompt", "Add a CONTRIBUTING.md"],
      env,
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /airlock: no LLM configured: using Airlock's scripted demo model/);
    assert.match(r.stdout, /^> \*\*Note:\*\* no LLM configured: using Airlock's scripted demo model/);
    const runId = /^## Airlock run `(r[a-z0-9]+)`: succeeded$/m.exec(r.stdout)?.[1];
    assert.ok(runId, r.stdout);
    demoRunId = runId;
    assert.match(r.stdout, /^\| Models \| `airlock-demo` \(3\) \|$/m);
    assert.match(r.stdout, /^\| LLM calls \| 3 \|$/m);
    assert.match(r.stdout, /^\| Cost \| \$0\.00 \|$/m);
    assert.match(r.stdout, /^- `AIRLOCK_DEMO\.md` \(added\)$/m);

    const branch = `airlock/${runId}`;
    assert.equal(git(repo, ["diff", "--name-status", "main", branch]).trim(), "A\tAIRLOCK_DEMO.md");
    const demo = git(repo, ["show", `${branch}:AIRLOCK_DEMO.md`]).trim();
    assert.match(demo, /scripted demo model/);
    assert.match(demo, /^> Add a CONTRIBUTING\.md$/m);
    assert.match(
      git(repo, ["log", "-1", "--format=%(trailers:only,unfold)", branch]).trim(),
      new RegExp(`^Airlock-Run: ${runId}$`, "m"),
    );
    assert.equal(git(repo, ["status", "--porcelain"]).trim(), "", "the operator's working tree is untouched");

    // The same secret verifies the ledger later, from the same embedded database.
    const verify = await airlock(["audit", "verify", runId], env, dir);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    // Issue 9 §5: the commit's Airlock-Audit trailer verifies (as a checkpoint the commit,
    // push and finish entries follow) on an untouched run.
    const trailer = /^Airlock-Audit: ([0-9a-f]{64})$/m.exec(
      git(repo, ["log", "-1", "--format=%(trailers:only,unfold)", branch]),
    )?.[1];
    assert.ok(trailer);
    const pinned = await airlock(["audit", "verify", runId, "--head", trailer], env, dir);
    assert.equal(pinned.code, 0, pinned.stderr + pinned.stdout);
    assert.match(
      pinned.stdout,
      new RegExp(`^checkpoint ${trailer} is entry \\d+; 3 later entries follow it$`, "m"),
    );
  });

  it("records the calls a killed airlock run left in flight when the next one starts on the same data folder", async () => {
    assert.ok(demoRunId, "the demo run above must have run");
    const env = cleanEnv({ AIRLOCK_TOKEN_SECRET: secret });
    // A writer that is gone: a process that has exited. Its journal holds one call of the demo
    // run and one of a run this database never had.
    const gone = spawnSync("true").pid;
    const journalDir = join(dir, ".airlock", "call-journal");
    await mkdir(journalDir, { recursive: true });
    const line = (runId: string, k: string) =>
      JSON.stringify({
        k,
        runId,
        attempt: 0,
        endpoint: "/v1/chat/completions",
        model: "airlock-demo",
        provider: "openai",
        tokens: 4242,
        units: 0,
        at: new Date().toISOString(),
      });
    await writeFile(
      join(journalDir, `${gone}-${randomUUID()}.jsonl`),
      `${line(demoRunId, `${randomUUID()}.1`)}\n${line("rnosuchrun", `${randomUUID()}.2`)}\n`,
    );
    const r = await airlock(
      ["run", "--repo", repo, "--agent", "builtin", "--prompt", "Add a SECURITY.md"],
      env,
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /recorded LLM calls a stopped proxy left in flight/);
    assert.match(r.stderr, /a journaled call's run is gone/);
    assert.deepEqual(await readdir(journalDir), [], "the recovered journal is gone");
    const exported = await airlock(["audit", "export", demoRunId], env, dir);
    assert.equal(exported.code, 0, exported.stderr);
    const calls = llmCallEntries(exported.stdout);
    assert.equal(calls.length, 4, "the demo's three calls and the interrupted one");
    assert.deepEqual(
      calls.filter((c) => c.status === 0).map((c) => c.inputTokens),
      [4242],
      "charged its whole reservation",
    );
    const verify = await airlock(["audit", "verify", demoRunId], env, dir);
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  });

  it("refuses to start without AIRLOCK_TOKEN_SECRET and says how to make one; an unknown agent lists the catalog", async () => {
    const noSecret = await airlock(
      ["run", "--repo", repo, "--agent", "builtin", "--prompt", "x"],
      cleanEnv({}),
      dir,
    );
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /AIRLOCK_TOKEN_SECRET: .*openssl rand -hex 32/);
    const unknown = await airlock(
      ["run", "--repo", repo, "--agent", "nope", "--prompt", "x"],
      cleanEnv({ AIRLOCK_TOKEN_SECRET: secret }),
      dir,
    );
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown agent "nope"; known agents: builtin/);
    const badBudget = await airlock(
      ["run", "--repo", repo, "--agent", "builtin", "--prompt", "x", "--budget-tokens", "1.5"],
      cleanEnv({ AIRLOCK_TOKEN_SECRET: secret }),
      dir,
    );
    assert.equal(badBudget.code, 2);
    assert.match(badBudget.stderr, /--budget-tokens must be a positive integer, got "1\.5"/);
    const badPrices = await airlock(
      ["run", "--repo", repo, "--agent", "builtin", "--prompt", "x"],
      cleanEnv({ AIRLOCK_TOKEN_SECRET: secret, AIRLOCK_PRICES_FILE: join(dir, "no-such-prices.yml") }),
      dir,
    );
    assert.equal(badPrices.code, 2);
    assert.match(badPrices.stderr, /AIRLOCK_PRICES_FILE/);
    const missing = await airlock(
      ["run", "--repo", join(dir, "nope"), "--agent", "builtin", "--prompt", "x"],
      cleanEnv({ AIRLOCK_TOKEN_SECRET: secret }),
      dir,
    );
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /--repo \S+nope: no such folder; give the path of a git repository or a git URL/,
    );
  });
});
