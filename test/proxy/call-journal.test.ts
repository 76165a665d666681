import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { and, asc, eq } from "drizzle-orm";
import { openDatabase, type Database } from "../../core/db/open-database.ts";
import { auditEvents, llmCalls } from "../../core/db/schema.ts";
import { newRunId } from "../../core/ids.ts";
import { createCallJournal } from "../../runner/proxy/create-call-journal.ts";
import { recoverCallJournals } from "../../runner/proxy/recover-call-journals.ts";
import { formatCostUnits } from "../../runner/proxy/usage.ts";
import { createCliEnv } from "../helpers/create-cli-env.ts";
import { runCli } from "../helpers/run-cli.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";

const secret = "journal-test-secret-0123456789abcdefghijklmn";
const silent = { warn: () => undefined };

type ProxyChild = ChildProcessByStdio<null, Readable, Readable>;

describe("the proxy's journal of calls in flight (a killed proxy's calls are recorded)", () => {
  let dir: string;
  let journalDir: string;
  let env: NodeJS.ProcessEnv;
  let upstream: ScriptedUpstream;
  let database: Database;
  const children = new Set<ProxyChild>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-journal-"));
    journalDir = join(dir, "call-journal");
    env = createCliEnv(dir, secret);
    upstream = await startScriptedUpstream();
    upstream.define("quick", { chunks: 2, inputTokens: 11, outputTokens: 3 });
    database = await openDatabase({ url: env.DATABASE_URL, dataDir: dir });
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await database.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** `airlock proxy` in a child process (it recovers dead journals before it listens). */
  async function startProxy(): Promise<{ child: ProxyChild; url: string }> {
    const child = spawn(process.execPath, ["bin/airlock.js", "proxy", "--port", "0"], {
      env: {
        ...env,
        OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
        OPENAI_BASE_URL: `${upstream.url}/v1`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line.toString());
    assert.ok(match, line.toString() + stderr);
    return { child, url: match[1]! };
  }

  async function kill(child: ProxyChild, signal: NodeJS.Signals): Promise<void> {
    const exited = once(child, "exit");
    child.kill(signal);
    await exited;
  }

  async function mintToken(runId: string): Promise<string> {
    const minted = await runCli(["token", "--run", runId, "--budget-usd", "5"], env);
    assert.equal(minted.code, 0, minted.err);
    return minted.out.trim();
  }

  function postChat(url: string, token: string, script: string): Promise<Response> {
    return fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: `[[script:${script}]]` }],
      }),
    });
  }

  const rowsOf = (runId: string) =>
    database.db.select().from(llmCalls).where(eq(llmCalls.runId, runId)).orderBy(asc(llmCalls.id));

  /** The journal files of the proxy process `pid`. */
  async function journalsOf(pid: number): Promise<string[]> {
    const names = await readdir(journalDir).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith(`${pid}-`)).map((n) => join(journalDir, n));
  }

  /** A script whose answer waits until the returned release is called: a call certainly in flight. */
  function defineHeld(name: string): () => void {
    let release!: () => void;
    upstream.define(name, { chunks: 2, holdFirstByte: new Promise<void>((r) => (release = r)) });
    return release;
  }

  it("records a call in flight when the proxy is SIGKILLed, charging its reservation, with the chain verifying; recovering twice records it once", async () => {
    const runId = newRunId();
    const token = await mintToken(runId);
    const release = defineHeld("held-kill");
    const first = await startProxy();
    const served = upstream.requests.length;
    const answer = postChat(first.url, token, "held-kill").catch(() => undefined);
    await waitUntil("the upstream to hold the call", () => upstream.requests.length > served);
    const [journal] = await journalsOf(first.child.pid!);
    assert.ok(journal, "the proxy keeps a journal under <dataDir>/call-journal");
    assert.equal((await stat(journal)).mode & 0o777, 0o600);
    const saved = await readFile(journal, "utf8");
    const line = JSON.parse(saved.trim()) as { k: string; tokens: number; units: number; runId: string };
    assert.equal(line.runId, runId);
    assert.ok(line.tokens > 0 && line.units > 0, saved);

    await kill(first.child, "SIGKILL");
    await answer;
    release();
    assert.deepEqual(await rowsOf(runId), [], "the killed proxy wrote no row");

    // The next `airlock proxy` on this host recovers before it listens.
    const second = await startProxy();
    const [row, ...more] = await rowsOf(runId);
    assert.equal(more.length, 0);
    assert.ok(row);
    assert.equal(row.callKey, line.k);
    assert.equal(row.status, 0);
    assert.match(row.error ?? "", /interrupted: the proxy \(process \d+\) stopped before this call ended/);
    assert.equal(row.inputTokens + row.outputTokens, line.tokens);
    assert.equal(row.costUsd, formatCostUnits(line.units));
    assert.deepEqual(await journalsOf(first.child.pid!), [], "the recovered journal is removed");
    const entries = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.runId, runId), eq(auditEvents.type, "llm.call")));
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.data.status, 0);
    const verified = await runCli(["audit", "verify", runId], env);
    assert.equal(verified.code, 0, verified.err);

    // The same journal again (a second recovery, or a copy left by a rotation): no second row.
    const again = join(journalDir, `${first.child.pid}-again.jsonl`);
    await writeFile(again, saved, { mode: 0o600 });
    const recovered = await recoverCallJournals({ db: database.db, secret, dir: journalDir, logger: silent });
    assert.deepEqual(recovered, { files: 1, recorded: 0, onRecord: 1 });
    assert.equal((await rowsOf(runId)).length, 1);
    assert.equal((await runCli(["audit", "verify", runId], env)).code, 0);
    await kill(second.child, "SIGTERM");
  });

  it("leaves nothing to recover after a call that ended normally", async () => {
    const runId = newRunId();
    const token = await mintToken(runId);
    const proxy = await startProxy();
    const response = await postChat(proxy.url, token, "quick");
    assert.equal(response.status, 200);
    await response.text();
    await waitUntil("the call's row", async () => (await rowsOf(runId)).length === 1);
    const [journal] = await journalsOf(proxy.child.pid!);
    assert.ok(journal);
    // The row's commit settles the line; an empty journal is truncated.
    await waitUntil("the settled journal to be truncated", async () => (await stat(journal)).size === 0);
    await kill(proxy.child, "SIGKILL");
    const recovered = await recoverCallJournals({ db: database.db, secret, dir: journalDir, logger: silent });
    assert.deepEqual(recovered, { files: 1, recorded: 0, onRecord: 0 });
    const rows = await rowsOf(runId);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 200);
    assert.ok(rows[0]!.callKey, "the row carries its call key");
  });

  it("never touches the journal of a live process", async () => {
    const runId = newRunId();
    const token = await mintToken(runId);
    const release = defineHeld("held-live");
    const proxy = await startProxy();
    const served = upstream.requests.length;
    const answer = postChat(proxy.url, token, "held-live");
    await waitUntil("the upstream to hold the call", () => upstream.requests.length > served);
    const [journal] = await journalsOf(proxy.child.pid!);
    assert.ok(journal);
    const before = await readFile(journal, "utf8");
    assert.notEqual(before, "");
    // This process's own journal too (its pid is alive and it was written since this process started).
    const own = createCallJournal({ dir: journalDir });
    own.open({
      runId,
      attempt: 0,
      endpoint: "/v1/chat/completions",
      model: "gpt-4o-mini",
      provider: "openai",
      tokens: 10,
      units: 10,
      at: new Date().toISOString(),
    });

    const recovered = await recoverCallJournals({ db: database.db, secret, dir: journalDir, logger: silent });
    assert.deepEqual(recovered, { files: 0, recorded: 0, onRecord: 0 });
    assert.equal(await readFile(journal, "utf8"), before);
    assert.notEqual(await readFile(own.path, "utf8"), "");
    assert.deepEqual(await rowsOf(runId), []);

    release();
    assert.equal((await answer).status, 200);
    await waitUntil("the call's row", async () => (await rowsOf(runId)).length === 1);
    own.close();
    await kill(proxy.child, "SIGTERM");
  });
});
