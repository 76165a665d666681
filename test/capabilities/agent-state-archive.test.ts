import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { packAgentState } from "../../runner/run/agent-state/pack-agent-state.ts";
import { unpackAgentState } from "../../runner/run/agent-state/unpack-agent-state.ts";

describe("the agent's saved state (issue 10 §2): packed bounded, restored without following links", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-agent-state-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips files, folders and modes; symlinks are skipped and named", async () => {
    const source = join(dir, "source");
    await mkdir(join(source, "claude", "projects"), { recursive: true });
    await writeFile(join(source, "claude", "projects", "s.jsonl"), '{"a":1}\n');
    await writeFile(join(source, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    await symlink("/etc/passwd", join(source, "passwd"));
    const packed = await packAgentState(source);
    assert.deepEqual(packed.skipped, ["passwd"]);
    assert.equal(packed.files, 2);
    assert.equal(packed.bytes, 8 + 10);
    const target = join(dir, "target");
    assert.deepEqual(await unpackAgentState(packed.archive, target, packed.sha256), { files: 2, bytes: 18 });
    assert.equal(await readFile(join(target, "claude", "projects", "s.jsonl"), "utf8"), '{"a":1}\n');
    assert.equal((await stat(join(target, "run.sh"))).mode & 0o777, 0o755);
    assert.deepEqual((await readdir(target)).sort(), ["claude", "run.sh"]);
  });

  it("refuses a folder over its size bound rather than saving half of it", async () => {
    const big = join(dir, "big");
    await mkdir(big);
    await writeFile(join(big, "a"), Buffer.alloc(600));
    await writeFile(join(big, "b"), Buffer.alloc(600));
    await assert.rejects(
      packAgentState(big, { maxBytes: 1000, maxFiles: 10 }),
      /holds more than 1000 bytes; it cannot be saved for resuming/,
    );
    await assert.rejects(packAgentState(big, { maxBytes: 10_000, maxFiles: 1 }), /more than 1 entries/);
  });

  it("refuses an archive changed after it was saved, and paths that climb out", async () => {
    const source = join(dir, "small");
    await mkdir(source);
    await writeFile(join(source, "x"), "x");
    const packed = await packAgentState(source);
    await assert.rejects(
      unpackAgentState(packed.archive, join(dir, "t1"), "0".repeat(64)),
      /does not match its recorded sha256/,
    );

    const evil = gzipSync(
      JSON.stringify({ version: 1, entries: [{ path: "../escaped", mode: 0o644, data: "eA==" }] }),
    );
    const sha = createHash("sha256").update(evil).digest("hex");
    await assert.rejects(unpackAgentState(evil, join(dir, "t2"), sha), /a relative path without \. or \.\./);
    await assert.rejects(readFile(join(dir, "escaped")), /ENOENT/);
  });

  it("never writes through a link already in the target", async () => {
    const archive = gzipSync(
      JSON.stringify({ version: 1, entries: [{ path: "victim", mode: 0o644, data: "eA==" }] }),
    );
    const sha = createHash("sha256").update(archive).digest("hex");
    const target = join(dir, "t3");
    await mkdir(target);
    await writeFile(join(dir, "outside"), "untouched");
    await symlink(join(dir, "outside"), join(target, "victim"));
    await assert.rejects(unpackAgentState(archive, target, sha), /EEXIST/);
    assert.equal(await readFile(join(dir, "outside"), "utf8"), "untouched");
  });
});
