import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { getRun } from "../../core/db/runs.ts";
import { newRunId } from "../../core/ids.ts";
import { openDatabase } from "../../core/db/open-database.ts";
import { main } from "../../cli/main.ts";
import { verifyRunToken } from "../../runner/proxy/run-token.ts";

const secret = "cli-test-secret-0123456789abcdefghijklmnop";

async function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await main(args, env, stdout, stderr);
  return { code, out, err };
}

describe("airlock token and airlock proxy commands", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-cli-"));
    // Postgres when the suite has one (faster than opening an embedded database per command).
    env = { AIRLOCK_DATA_DIR: dir, AIRLOCK_TOKEN_SECRET: secret, AIRLOCK_LOG_LEVEL: "silent" };
    if (process.env.TEST_DATABASE_URL) env.DATABASE_URL = process.env.TEST_DATABASE_URL;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("airlock token records a manual run with its budgets, prints a valid token, and raises budgets later", async () => {
    const runId = newRunId();
    const first = await runCli(
      ["token", "--run", runId, "--ttl", "120", "--budget-usd", "2.5", "--budget-tokens", "1000"],
      env,
    );
    assert.equal(first.code, 0, first.err);
    const verified = verifyRunToken(first.out.trim(), secret, Math.floor(Date.now() / 1000));
    assert.ok(verified.ok);
    assert.equal(verified.runId, runId);
    assert.equal(verified.attempt, 0);
    assert.ok(verified.expiresAt > Date.now() / 1000 + 100 && verified.expiresAt <= Date.now() / 1000 + 121);

    const second = await runCli(["token", "--run", runId, "--budget-usd", "5"], env);
    assert.equal(second.code, 0, second.err);
    const stale = await runCli(["token", "--run", runId, "--attempt", "2"], env);
    assert.equal(stale.code, 2);
    assert.match(stale.err, /is at attempt 0/);

    const database = await openDatabase({ url: env.DATABASE_URL, dataDir: dir });
    try {
      const run = await getRun(database.db, runId);
      assert.equal(run?.kind, "manual");
      assert.equal(Number(run?.budgetUsd), 5);
      assert.equal(run?.budgetTokens, 1000);
    } finally {
      await database.close();
    }
  });

  it("rejects bad flags and missing settings with messages that say what to fix", async () => {
    const dotted = await runCli(["token", "--run", "a.b"], env);
    assert.equal(dotted.code, 2);
    assert.match(dotted.err, /no dots/);
    const badUsd = await runCli(["token", "--run", "abc", "--budget-usd", "lots"], env);
    assert.equal(badUsd.code, 2);
    assert.match(badUsd.err, /--budget-usd must be an amount/);
    const noSecret = await runCli(["token", "--run", "abc"], { AIRLOCK_DATA_DIR: dir });
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.err, /AIRLOCK_TOKEN_SECRET/);
    const noUpstream = await runCli(["proxy", "--port", "0"], env);
    assert.equal(noUpstream.code, 2);
    assert.match(noUpstream.err, /no upstream.*OPENAI_API_KEY.*ANTHROPIC_API_KEY/s);
    const badPrices = await runCli(["proxy", "--port", "0"], {
      ...env,
      OPENAI_API_KEY: "sk-test-cli-key-0123456789",
      AIRLOCK_PRICES_FILE: join(dir, "missing.yml"),
    });
    assert.equal(badPrices.code, 2);
    assert.match(badPrices.err, /AIRLOCK_PRICES_FILE: cannot read/);
  });
});
