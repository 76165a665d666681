import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { eq } from "drizzle-orm";
import { getRun } from "../../core/db/runs.ts";
import { llmCalls } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { openDatabase } from "../../core/db/open-database.ts";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import OpenAI from "openai";
import { createCliEnv } from "../helpers/create-cli-env.ts";
import { runCli } from "../helpers/run-cli.ts";
import { scriptedUpstreamDefaults, startScriptedUpstream } from "../stand-ins/scripted-llm-upstream.ts";
import { verifyRunToken } from "../../runner/proxy/run-token.ts";

const secret = "cli-test-secret-0123456789abcdefghijklmnop";

describe("airlock token and airlock proxy commands", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-cli-"));
    env = createCliEnv(dir, secret);
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

  it("airlock proxy serves on TCP with routing from AIRLOCK_PROXY_CONFIG, /metrics, and flushes rows on SIGTERM", async () => {
    const upstream = await startScriptedUpstream();
    const local = await startScriptedUpstream();
    upstream.define("hi", { chunks: 2, inputTokens: 7 });
    local.define("hi", { chunks: 3, inputTokens: 9 });
    const configPath = join(dir, "proxy.yml");
    await writeFile(
      configPath,
      `upstreams:\n  local:\n    baseUrl: ${local.url}/v1\n    apiKeyEnv: LOCAL_KEY\nrouting:\n  - { match: "llama*", provider: local }\n  - { match: "*", provider: openai }\n`,
    );
    const runId = newRunId();
    const minted = await runCli(["token", "--run", runId], env);
    assert.equal(minted.code, 0, minted.err);
    const child = spawn(process.execPath, ["bin/airlock.js", "proxy", "--port", "0"], {
      env: {
        ...env,
        OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        LOCAL_KEY: scriptedUpstreamDefaults.openaiApiKey,
        AIRLOCK_PROXY_CONFIG: configPath,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    try {
      const [line] = (await once(child.stdout, "data")) as [Buffer];
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+) \(upstreams: openai, local;/.exec(
        line.toString(),
      );
      assert.ok(match, line.toString() + stderr);
      const openai = new OpenAI({ baseURL: `${match[1]}/v1`, apiKey: minted.out.trim(), maxRetries: 0 });
      const viaOpenai = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:hi]]" }],
      });
      assert.equal(viaOpenai.usage?.prompt_tokens, 7);
      const viaLocal = await openai.chat.completions.create({
        model: "llama3.1",
        messages: [{ role: "user", content: "[[script:hi]]" }],
      });
      assert.equal(viaLocal.usage?.prompt_tokens, 9);
      const metrics = await (await fetch(`${match[1]}/metrics`)).text();
      assert.match(metrics, /airlock_llm_calls_total\{provider="local",model="unpriced",status="200"\} 1/);
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 0, stderr);
      const database = await openDatabase({ url: env.DATABASE_URL, dataDir: dir });
      try {
        const rows = await database.db.select().from(llmCalls).where(eq(llmCalls.runId, runId));
        assert.deepEqual(rows.map((r) => [r.provider, r.inputTokens]).sort(), [
          ["local", 9],
          ["openai", 7],
        ]);
      } finally {
        await database.close();
      }
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      // Each throws when it saw a request nobody expected.
      try {
        await upstream.close();
      } finally {
        await local.close();
      }
    }
  });
});
