import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fetchNpmPackage, npmPackagePinSchema } from "../../runner/images/fetch-npm-package.ts";
import { readPackageCacheDir } from "../../runner/images/read-package-cache-dir.ts";

// A stand-in for `npm pack <name>@<version> --pack-destination <dir>`: writes the file npm
// would (scoped names as scope-name-version.tgz), and records each call.
const fakeNpm = `#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
spec="$2"; dest="$4"
name="\${spec%@*}"; version="\${spec##*@}"
file=$(printf '%s' "$name" | sed 's|^@||; s|/|-|')
printf 'tarball-%s-%s' "$name" "$version" > "$dest/$file-$version.tgz"
`;

function integrityOf(text: string): string {
  return `sha512-${createHash("sha512").update(text).digest("base64")}`;
}

describe("fetchNpmPackage with the machine's cache (issue 12)", () => {
  let dir: string;
  let npm: string;
  const pkg = {
    name: "@openai/codex",
    version: "0.171.0-linux-x64",
    integrity: integrityOf("tarball-@openai/codex-0.171.0-linux-x64"),
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-fetch-npm-"));
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

  it("fetches once per machine: a second checkout gets a hard link of the checked file, without npm", async () => {
    const machineCacheDir = join(dir, "machine");
    const fetch = (checkout: string) =>
      fetchNpmPackage({
        pkg,
        cacheDir: join(dir, checkout, ".context"),
        pinFile: "agent-images/codex/npm-packages.json",
        npmCommand: npm,
        machineCacheDir,
      });
    const first = await fetch("checkout-a");
    const second = await fetch("checkout-b");
    assert.equal(first, join(dir, "checkout-a", ".context", "openai-codex-0.171.0-linux-x64.tgz"));
    assert.equal(await readFile(second, "utf8"), "tarball-@openai/codex-0.171.0-linux-x64");
    const packs = await calls();
    assert.equal(packs.length, 1, packs.join("\n"));
    assert.match(packs[0]!, /^pack @openai\/codex@0\.171\.0-linux-x64 --pack-destination \S+ --silent$/);
    // One file on disk, three names: the machine's copy and each checkout's link.
    const [a, b] = [await stat(first), await stat(second)];
    assert.equal(a.ino, b.ino);
    assert.equal(a.nlink, 3);
    assert.deepEqual(await readdir(join(dir, "checkout-b", ".context")), [
      "openai-codex-0.171.0-linux-x64.tgz",
    ]);
  });

  it("fetches again when the machine's copy was altered, and never links an unchecked file", async () => {
    const machineCacheDir = join(dir, "machine-tampered");
    const options = {
      pkg,
      cacheDir: join(dir, "checkout-c", ".context"),
      pinFile: "agent-images/codex/npm-packages.json",
      npmCommand: npm,
      machineCacheDir,
    };
    const path = await fetchNpmPackage(options);
    const before = (await calls()).length;
    await rm(path);
    const [key] = await readdir(machineCacheDir);
    await writeFile(join(machineCacheDir, key!, "openai-codex-0.171.0-linux-x64.tgz"), "tampered");
    const again = await fetchNpmPackage(options);
    assert.equal(await readFile(again, "utf8"), "tarball-@openai/codex-0.171.0-linux-x64");
    assert.equal((await calls()).length, before + 1);
  });

  it("pins accept a pre-release version and an alias; the cache follows AIRLOCK_PACKAGE_CACHE, then XDG", () => {
    assert.ok(npmPackagePinSchema.safeParse({ ...pkg, alias: "@openai/codex-linux-x64" }).success);
    assert.ok(!npmPackagePinSchema.safeParse({ ...pkg, version: "latest" }).success);
    assert.equal(readPackageCacheDir({ AIRLOCK_PACKAGE_CACHE: "/srv/cache" }), "/srv/cache");
    assert.equal(readPackageCacheDir({ XDG_CACHE_HOME: "/x" }), "/x/airlock/npm");
  });
});
