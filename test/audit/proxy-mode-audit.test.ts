import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import OpenAI from "openai";
import { openDatabase } from "../../core/db/open-database.ts";
import { llmCalls } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createCliEnv } from "../helpers/create-cli-env.ts";
import { runCli } from "../helpers/run-cli.ts";
import { scriptedUpstreamDefaults, startScriptedUpstream } from "../stand-ins/scripted-llm-upstream.ts";

const secret = "proxy-mode-audit-secret-0123456789abcdefgh";

interface ExportLine {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  hash: string;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * Issue 9 §5: a run served by the shared TCP proxy (`airlock token` + `airlock proxy`, no
 * runner, no sandbox) has its calls in `airlock audit export`. Before, llm.call entries
 * were written only when a sandboxed run ended, so this export was empty.
 */
describe("the audit ledger of a run served by airlock proxy", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-proxy-audit-"));
    env = createCliEnv(dir, secret);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lists each call as it is recorded, with the stored bodies' sha256, and verifies", async (t) => {
    const upstream = await startScriptedUpstream();
    upstream.define("plain", { text: "one two three", inputTokens: 11, outputTokens: 3 });
    upstream.define("streamed", { text: "four five", inputTokens: 13, outputTokens: 2 });
    const runId = newRunId();
    const minted = await runCli(["token", "--run", runId, "--budget-tokens", "100000"], env);
    assert.equal(minted.code, 0, minted.err);
    const proxy = spawn(process.execPath, ["bin/airlock.js", "proxy", "--port", "0"], {
      env: {
        ...env,
        OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
        OPENAI_BASE_URL: `${upstream.url}/v1`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    proxy.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    try {
      const [line] = (await once(proxy.stdout, "data")) as [Buffer];
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line.toString())?.[1];
      assert.ok(url, line.toString() + stderr);
      const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: minted.out.trim(), maxRetries: 0 });
      const plain = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:plain]]" }],
      });
      assert.equal(plain.usage?.prompt_tokens, 11);
      const stream = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "[[script:streamed]]" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) void chunk;

      // While the proxy still serves (Postgres only: an embedded database is one process's),
      // the calls are already on the record: chained when recorded, not at some run's end.
      if (env.DATABASE_URL) {
        const deadline = Date.now() + 20_000;
        let live: ExportLine[] = [];
        while (live.length < 2) {
          assert.ok(Date.now() < deadline, "the calls never reached the ledger while the proxy ran");
          const exported = await runCli(["audit", "export", runId], env);
          assert.equal(exported.code, 0, exported.err);
          live = exported.out
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as ExportLine)
            .filter((e) => e.type === "llm.call");
          if (live.length < 2) await new Promise((resolve) => setImmediate(resolve));
        }
      }

      proxy.kill("SIGTERM");
      const [code] = (await once(proxy, "exit")) as [number];
      assert.equal(code, 0, stderr);

      const exported = await runCli(["audit", "export", runId], env);
      assert.equal(exported.code, 0, exported.err);
      const entries = exported.out
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as ExportLine);
      assert.deepEqual(
        entries.map((e) => e.type),
        ["llm.call", "llm.call"],
      );
      const database = await openDatabase({ url: env.DATABASE_URL, dataDir: dir });
      try {
        const rows = await database.db
          .select()
          .from(llmCalls)
          .where(eq(llmCalls.runId, runId))
          .orderBy(asc(llmCalls.id));
        assert.deepEqual(
          entries.map((e) => [e.data.id, e.data.inputTokens, e.data.outputTokens, e.data.costUsd]),
          rows.map((r) => [r.id, r.inputTokens, r.outputTokens, r.costUsd]),
        );
        assert.deepEqual(
          entries.map((e) => [e.data.requestSha256, e.data.responseSha256]),
          rows.map((r) => [sha256(r.requestBody ?? ""), sha256(r.responseBody ?? "")]),
        );
        // What was hashed is what is stored: redacted (the run token is in no body).
        assert.ok(rows.every((r) => !`${r.requestBody}${r.responseBody}`.includes(minted.out.trim())));
      } finally {
        await database.close();
      }
      const verified = await runCli(["audit", "verify", runId, "--head", entries[0]!.hash], env);
      assert.equal(verified.code, 0, verified.err);
      assert.match(verified.out, /^ok: 2 entries, head [0-9a-f]{64}\ncheckpoint [0-9a-f]{64} is entry 1;/);
      assert.deepEqual(upstream.unexpected, []);
      t.diagnostic(`exported ${entries.length} llm.call entries for run ${runId}`);
    } finally {
      if (proxy.exitCode === null) proxy.kill("SIGKILL");
      await upstream.close();
    }
  });
});
