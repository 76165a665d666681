// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createCallJournal, journalFileName } from "../../runner/proxy/create-call-journal.ts";

const call = (runId: string) => ({
  runId,
  attempt: 1,
  endpoint: "/v1/chat/completions",
  model: "gpt-4o-mini",
  provider: "openai",
  tokens: 100,
  units: 2000,
  at: new Date(0).toISOString(),
});

const keysIn = async (path: string) =>
  (await readFile(path, "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { k: string }).k);

describe("a proxy's call journal on disk", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-journal-unit-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("keeps one line per unsettled call, rewrites itself past maxBytes, truncates when all are settled", async () => {
    const journal = createCallJournal({ dir, maxBytes: 400 });
    assert.match(journal.path.slice(dir.length + 1), journalFileName);
    assert.ok(journal.path.startsWith(join(dir, `${process.pid}-`)));
    assert.equal((await stat(journal.path)).mode & 0o777, 0o600);
    const keys = ["r1", "r2", "r3"].map((runId) => journal.open(call(runId)));
    assert.deepEqual(await keysIn(journal.path), keys);
    assert.ok((await stat(journal.path)).size > 400);

    // Past maxBytes with calls open: only the open lines are left.
    journal.settle([keys[1]!]);
    assert.deepEqual(await keysIn(journal.path), [keys[0], keys[2]]);
    assert.equal(journal.unsettled, 2);
    // Appends go on after the rewrite.
    const fourth = journal.open(call("r4"));
    assert.deepEqual(await keysIn(journal.path), [keys[0], keys[2], fourth]);

    journal.settle([keys[0]!, keys[2]!, fourth]);
    assert.equal((await stat(journal.path)).size, 0);
    const fifth = journal.open(call("r5"));
    assert.deepEqual(await keysIn(journal.path), [fifth]);
    journal.settle([fifth]);
    journal.close();
    assert.equal(existsSync(journal.path), false, "a settled journal is removed on close");
  });

  it("is kept on close while a call is unsettled, for recovery", async () => {
    const journal = createCallJournal({ dir });
    const key = journal.open(call("r6"));
    journal.close();
    assert.deepEqual(await keysIn(journal.path), [key]);
  });
});
