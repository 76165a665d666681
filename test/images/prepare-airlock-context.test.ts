import assert from "node:assert/strict";
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { ImageBuildError } from "../../runner/images/image-build-error.ts";
import { prepareAirlockContext } from "../../runner/images/prepare-airlock-context.ts";
import { npmTarballName } from "../../runner/images/fetch-npm-package.ts";

/**
 * The root image's build context (issue 13 §1), on a copy of the checkout's files: the npm
 * it is given records each call; `pack` fails, so the pinned Node tarball must come from the
 * cache, and `ci` installs one package with a declaration file and a source map.
 */

const checkout = fileURLToPath(new URL("../..", import.meta.url));
const pin = JSON.parse(await readFile(join(checkout, "agent-images/base/node-package.json"), "utf8")) as {
  name: string;
  version: string;
};
const cachedNode = join(checkout, "agent-images/base/.context", npmTarballName(pin));
const skip = (await stat(cachedNode).catch(() => undefined))
  ? undefined
  : `${cachedNode} is not cached yet (airlock images build fetches it)`;

const fakeNpm = `#!/bin/sh
echo "$*" >> "$NPM_CALLS"
case "$1" in
  ci) mkdir -p node_modules/pkg && echo 'export {}' > node_modules/pkg/index.js \\
        && echo 'export {}' > node_modules/pkg/index.d.ts && echo '{}' > node_modules/pkg/index.js.map ;;
  *) echo "no network in this test" >&2; exit 1 ;;
esac
`;

describe("prepareAirlockContext", { skip }, () => {
  let root: string;
  let npm: string;
  let calls: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "airlock-context-"));
    for (const file of ["Dockerfile", "package.json", "package-lock.json"]) {
      await copyFile(join(checkout, file), join(root, file));
    }
    const base = join(root, "agent-images/base");
    await mkdir(join(base, ".context"), { recursive: true });
    for (const file of ["Dockerfile", "node-package.json", "VERSION"]) {
      await copyFile(join(checkout, "agent-images/base", file), join(base, file));
    }
    await cp(join(checkout, "agent-images/base/rootfs"), join(base, "rootfs"), { recursive: true });
    await copyFile(cachedNode, join(base, ".context", npmTarballName(pin)));
    npm = join(root, "fake-npm");
    await writeFile(npm, fakeNpm);
    await chmod(npm, 0o755);
    calls = join(root, "npm-calls");
    process.env.NPM_CALLS = calls;
  });

  after(async () => {
    delete process.env.NPM_CALLS;
    await rm(root, { recursive: true, force: true });
  });

  const npmCalls = async () =>
    (await readFile(calls, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
  const prepare = () => prepareAirlockContext({ rootDir: root, agents: [], npmCommand: npm });

  it("stages the production dependencies with npm ci, without type declarations or source maps", async () => {
    const context = await prepare();
    assert.equal(context.installedDependencies, true);
    assert.equal(context.node.version, pin.version);
    const calls = await npmCalls();
    assert.equal(calls.length, 1);
    assert.match(calls[0]!, /^ci --omit=dev --ignore-scripts --os=linux --cpu=x64 /);
    const pkg = join(root, ".context/deps/node_modules/pkg");
    assert.ok(await stat(join(pkg, "index.js")));
    // The base's Node tarball is staged where the Dockerfile copies it; no agent was named.
    const staged = join(root, ".context/agent-images");
    assert.ok(await stat(join(staged, "base/.context", npmTarballName(pin))));
    assert.deepEqual(await readdir(staged), ["base"]);
    await assert.rejects(stat(join(pkg, "index.d.ts")), { code: "ENOENT" });
    await assert.rejects(stat(join(pkg, "index.js.map")), { code: "ENOENT" });
  });

  it("installs nothing again while package-lock.json is unchanged, and again once it changes", async () => {
    assert.equal((await prepare()).installedDependencies, false);
    assert.equal((await npmCalls()).length, 1);
    await writeFile(
      join(root, "package-lock.json"),
      `${await readFile(join(root, "package-lock.json"), "utf8")}\n`,
    );
    assert.equal((await prepare()).installedDependencies, true);
    assert.equal((await npmCalls()).length, 2);
  });

  it("refuses a Dockerfile whose NODE_VERSION is not the pinned one, before fetching anything", async () => {
    const dockerfile = join(root, "Dockerfile");
    const text = await readFile(dockerfile, "utf8");
    await writeFile(dockerfile, text.replace(/^ARG NODE_VERSION=.*$/m, "ARG NODE_VERSION=24.0.0"));
    await rm(join(root, ".context"), { recursive: true, force: true });
    try {
      await assert.rejects(prepare(), (error: Error) => {
        assert.ok(error instanceof ImageBuildError);
        assert.match(
          error.message,
          new RegExp(`NODE_VERSION=24\\.0\\.0.*pins ${pin.version.replace(/\./g, "\\.")}`),
        );
        return true;
      });
      assert.equal((await npmCalls()).length, 2, "npm was not called");
    } finally {
      await writeFile(dockerfile, text);
    }
  });
});
