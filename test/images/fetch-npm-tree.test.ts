import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fetchNpmTree } from "../../runner/images/fetch-npm-tree.ts";

// A stand-in for `npm ci`: checks it was asked not to run scripts, then installs one
// package whose content names the lock it came from; records each call.
const fakeNpm = `#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
case "$*" in *--ignore-scripts*) ;; *) echo "scripts were not ignored" >&2; exit 1 ;; esac
mkdir -p node_modules/demo
cp package-lock.json node_modules/demo/lock-copy.json
`;

describe("fetchNpmTree (a package with a dependency tree, issue 12)", () => {
  let dir: string;
  let npm: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-fetch-tree-"));
    npm = join(dir, "npm");
    await writeFile(npm, fakeNpm);
    await chmod(npm, 0o755);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function calls(): Promise<string[]> {
    return (await readFile(join(dir, "calls"), "utf8").catch(() => "")).split("\n").filter(Boolean);
  }

  async function treeDir(name: string, lock: string): Promise<string> {
    const tree = join(dir, name);
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, "package.json"), '{"name":"t","private":true}\n');
    await writeFile(join(tree, "package-lock.json"), lock);
    return tree;
  }

  it("installs once per machine with scripts off, packs the tree, links it into each checkout", async () => {
    const machineCacheDir = join(dir, "machine");
    const tree = await treeDir("tree-a", '{"lockfileVersion":3,"n":1}\n');
    const fetch = (checkout: string) =>
      fetchNpmTree({ treeDir: tree, cacheDir: join(dir, checkout), machineCacheDir, npmCommand: npm });
    const name = await fetch("context-a");
    assert.match(name, /^npm-tree-[0-9a-f]{16}\.tgz$/);
    assert.equal(await fetch("context-b"), name);
    assert.deepEqual(
      (await calls()).map((c) => c.split(" ")[0]),
      ["ci"],
    );
    const [a, b] = [await stat(join(dir, "context-a", name)), await stat(join(dir, "context-b", name))];
    assert.equal(a.ino, b.ino);
    const listing = execFileSync("tar", ["-tzvf", join(dir, "context-b", name)], { encoding: "utf8" });
    // Reproducible: numeric root ownership, no times.
    assert.match(listing, /^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 node_modules\/demo\/lock-copy\.json$/m);
  });

  it("a changed lock is a new tree; a packed tree altered in the machine cache is packed again", async () => {
    const machineCacheDir = join(dir, "machine-2");
    const tree = await treeDir("tree-b", '{"lockfileVersion":3,"n":2}\n');
    const options = { treeDir: tree, cacheDir: join(dir, "context-c"), machineCacheDir, npmCommand: npm };
    const first = await fetchNpmTree(options);
    const before = (await calls()).length;
    await rm(join(dir, "context-c", first));
    const [packed] = (await readdir(join(machineCacheDir, "trees"))).filter((f) => f.endsWith(".tgz"));
    await writeFile(join(machineCacheDir, "trees", packed!), "tampered");
    assert.equal(await fetchNpmTree(options), first);
    assert.equal((await calls()).length, before + 1, "the altered tree was installed again");
    await writeFile(join(tree, "package-lock.json"), '{"lockfileVersion":3,"n":3}\n');
    assert.notEqual(await fetchNpmTree(options), first);
  });
});
