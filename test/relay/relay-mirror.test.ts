import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { lstat, readdir, readFile, readlink, writeFile, open } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { prepareRunCheckout } from "../../runner/relay/prepare-run-checkout.ts";
import { pushBranch } from "../../runner/relay/push-branch.ts";
import { relayWorkspace } from "../../runner/relay/relay-workspace.ts";
import { lockMirror } from "../../runner/relay/lock-mirror.ts";
import { mirrorCompleteMarker } from "../../runner/relay/sync-repository-mirror.ts";
import { createBareRemote, createSourceRepo, git, tryGit } from "../helpers/git-repo.ts";
import { runGitHttpBackend } from "../helpers/run-git-http-backend.ts";
import { defaultPolicy, makeTempDir, removeDir, silentLogger } from "./relay-fixture.ts";

const username = "x-access-token";
const password = "ghs_MirrorTestOnlyToken0123456789abcdef";
const basic = Buffer.from(`${username}:${password}`).toString("base64");
const credentials = { username, password };

/**
 * Smart HTTP like a forge, behind Basic auth. `holdUploadPack` parks each upload-pack POST
 * (the request that carries the pack) until the test releases it, so a test can kill a
 * prepare while its fetch is under way.
 */
async function startServer(projectRoot: string) {
  const authorizations: string[] = [];
  const uploadPacks: string[] = [];
  let hold: { arrived: () => void; release: Promise<void> } | undefined;
  const server: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? "");
    if (req.headers.authorization !== `Basic ${basic}`) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="test"' }).end("unauthorized\n");
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const isUploadPack = req.method === "POST" && url.pathname.endsWith("/git-upload-pack");
    if (isUploadPack) uploadPacks.push(url.pathname);
    const answer = () =>
      void runGitHttpBackend({
        req,
        projectRoot,
        pathInfo: decodeURIComponent(url.pathname),
        query: url.search.slice(1),
        user: username,
      }).then(({ status, headers, body }) => res.writeHead(status, headers).end(body));
    if (isUploadPack && hold !== undefined) {
      hold.arrived();
      // A client killed meanwhile gets nothing: http-backend would wait on its body forever.
      void hold.release.then(() => (req.socket.destroyed ? undefined : answer()));
    } else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    uploadPacks,
    /** Parks upload-pack POSTs; resolves `arrived` at the first one. */
    holdUploadPacks() {
      let arrived!: () => void;
      let release!: () => void;
      const arrivedPromise = new Promise<void>((r) => (arrived = r));
      hold = { arrived, release: new Promise<void>((r) => (release = r)) };
      return {
        arrived: arrivedPromise,
        release: () => {
          hold = undefined;
          release();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Every file under `dir` (not following links), with its kind. */
async function walk(dir: string): Promise<{ path: string; isLink: boolean; isFile: boolean; ino: number }[]> {
  const found: { path: string; isLink: boolean; isFile: boolean; ino: number }[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const info = await lstat(path);
    if (info.isDirectory()) found.push(...(await walk(path)));
    else found.push({ path, isLink: info.isSymbolicLink(), isFile: info.isFile(), ino: info.ino });
  }
  return found;
}

/** The object ids in each pack of a bare repository, by pack file name. */
function packContents(gitDir: string, names: string[]): Map<string, string[]> {
  const packs = new Map<string, string[]>();
  for (const name of names.filter((n) => n.endsWith(".idx"))) {
    const listed = git(gitDir, ["verify-pack", "-v", join(gitDir, "objects", "pack", name)]);
    packs.set(
      name,
      listed
        .split("\n")
        .map((line) => /^([0-9a-f]{40}) (commit|tree|blob|tag) /.exec(line)?.[1])
        .filter((oid): oid is string => oid !== undefined),
    );
  }
  return packs;
}

async function onlyMirror(cacheDir: string): Promise<string> {
  const mirrors = (await readdir(cacheDir)).filter((n) => /^[0-9a-f]{32}\.git$/.test(n));
  assert.equal(mirrors.length, 1, `one mirror in the cache, found ${mirrors.join(", ")}`);
  return join(cacheDir, mirrors[0] ?? "");
}

describe("the runner's repository mirror (issue 15)", () => {
  let root: string;
  let source: string;
  let served: string;
  let server: Awaited<ReturnType<typeof startServer>>;
  let repo: string;
  let runs = 0;

  before(async () => {
    root = await makeTempDir("mirror");
    source = await createSourceRepo(join(root, "source"), {
      "README.md": "# Demo\n",
      "src/app.js": "console.log('hi');\n",
    });
    served = join(root, "served");
    createBareRemote(source, join(served, "repo.git"));
    server = await startServer(served);
    repo = `${server.url}/repo.git`;
  });

  after(async () => {
    await server.close();
    await removeDir(root);
  });

  async function commitOnRemote(path: string, content: string): Promise<string> {
    await writeFile(join(source, path), content);
    git(source, ["add", "--all"]);
    git(source, ["commit", "--quiet", "-m", `change ${path}`]);
    git(source, ["push", "--quiet", join(served, "repo.git"), "main"]);
    return git(source, ["rev-parse", "HEAD"]).trim();
  }

  function prepare(cacheDir: string, extra: { ref?: string } = {}) {
    runs += 1;
    return prepareRunCheckout({
      repo,
      runId: `run_${runs}`,
      baseDir: join(root, `run-${runs}`),
      credentials,
      logger: silentLogger,
      mirrorCache: { dir: cacheDir, maxMb: 1024 },
      ...extra,
    });
  }

  it("fetches only the new commit's objects into the mirror on the second run", async () => {
    const cacheDir = join(root, "cache-reuse");
    const first = await prepare(cacheDir);
    const mirror = await onlyMirror(cacheDir);
    const packsBefore = await readdir(join(mirror, "objects", "pack"));
    const head = await commitOnRemote("src/app.js", "console.log('changed');\n");
    const second = await prepare(cacheDir);
    assert.notEqual(first.baseCommit, head);
    assert.equal(second.baseCommit, head);
    assert.equal(await readFile(join(second.workspace, "src/app.js"), "utf8"), "console.log('changed');\n");
    // The old packs are untouched and one new pack holds exactly commit, root tree, src tree, blob.
    const packsAfter = await readdir(join(mirror, "objects", "pack"));
    for (const name of packsBefore) assert.ok(packsAfter.includes(name), `${name} kept`);
    const added = packContents(
      mirror,
      packsAfter.filter((n) => !packsBefore.includes(n)),
    );
    assert.equal(added.size, 1, "one new pack");
    const [objects = []] = [...added.values()];
    assert.equal(objects.length, 4, `the new pack holds ${objects.length} objects: ${objects.join(" ")}`);
    assert.ok(objects.includes(head));
    // The host clone still relays and pushes with the mirror's objects.
    await writeFile(join(second.workspace, "NEW.md"), "new\n");
    const relayed = await relayWorkspace({
      hostClone: second.hostClone,
      workspace: second.workspace,
      runId: "run_mirror",
      branch: "airlock/run_mirror",
      message: { subject: "From the mirror", body: "" },
      trailers: { "Airlock-Run": "run_mirror" },
      policy: defaultPolicy,
      logger: silentLogger,
      ignoredPaths: [".airlock"],
    });
    assert.deepEqual(relayed.filesChanged, [{ path: "NEW.md", change: "added" }]);
    await pushBranch({
      hostClone: second.hostClone,
      remote: repo,
      branch: "airlock/run_mirror",
      credentials,
      logger: silentLogger,
    });
    const pushed = git(join(served, "repo.git"), ["rev-parse", "refs/heads/airlock/run_mirror^"]).trim();
    assert.equal(pushed, head);
  });

  it("keeps credentials out of every file of the mirror and the host clone", async () => {
    const cacheDir = join(root, "cache-secrets");
    const sentBefore = server.authorizations.filter((a) => a === `Basic ${basic}`).length;
    const checkout = await prepare(cacheDir);
    await commitOnRemote("README.md", "# Demo, again\n");
    await prepare(cacheDir);
    assert.ok(
      server.authorizations.filter((a) => a === `Basic ${basic}`).length > sentBefore,
      "the credentials were sent to the server",
    );
    const mirror = await onlyMirror(cacheDir);
    const files = [...(await walk(cacheDir)), ...(await walk(checkout.hostClone))];
    assert.ok(files.some((f) => f.path.endsWith("/config")));
    for (const file of files.filter((f) => f.isFile)) {
      const text = (await readFile(file.path)).toString("latin1");
      for (const secret of [password, basic, "extraheader", "extraHeader"]) {
        assert.ok(!text.includes(secret), `${file.path} holds ${secret.slice(0, 12)}…`);
      }
    }
    assert.doesNotMatch(await readFile(join(mirror, "config"), "utf8"), /\[remote|url\s*=/);
  });

  it("gives the workspace no path, link or shared file into the mirror", async () => {
    const cacheDir = join(root, "cache-isolation");
    const checkout = await prepare(cacheDir);
    const mirror = await onlyMirror(cacheDir);
    const mirrorInodes = new Set((await walk(mirror)).map((f) => f.ino));
    const workspaceFiles = await walk(checkout.workspace);
    assert.ok(
      workspaceFiles.some((f) => f.path.includes("/.git/objects/pack/")),
      "the workspace has its own pack",
    );
    for (const file of workspaceFiles) {
      assert.ok(!mirrorInodes.has(file.ino), `${file.path} is a hard link of a mirror file`);
      if (file.isLink) assert.ok(!(await readlink(file.path)).startsWith("/"), `${file.path} links outside`);
      if (file.isFile) {
        const text = (await readFile(file.path)).toString("latin1");
        assert.ok(!text.includes(cacheDir), `${file.path} names the mirror cache`);
        assert.ok(!text.includes(checkout.hostClone), `${file.path} names the host clone`);
      }
    }
    const alternates = workspaceFiles.filter((f) => f.path.endsWith("objects/info/alternates"));
    assert.deepEqual(alternates, []);
    // The host clone, never mounted, has no alternates either: it survives the mirror's eviction.
    assert.ok(!(await walk(checkout.hostClone)).some((f) => f.path.endsWith("objects/info/alternates")));
    // The workspace's own repository holds the base tree and nothing of the history.
    const wsGit = join(checkout.workspace, ".git");
    assert.equal(git(checkout.workspace, ["--git-dir", wsGit, "rev-list", "--count", "HEAD"]).trim(), "1");
    assert.equal(
      git(checkout.workspace, ["--git-dir", wsGit, "rev-parse", "HEAD^{tree}"]),
      git(source, ["rev-parse", `${checkout.baseCommit}^{tree}`]),
    );
    assert.equal(
      git(checkout.workspace, [
        "--git-dir",
        wsGit,
        "--work-tree",
        checkout.workspace,
        "status",
        "--porcelain",
      ]),
      "",
    );
  });

  it("lets two prepares of one repository run at once and leaves a valid mirror", async () => {
    const cacheDir = join(root, "cache-concurrent");
    await commitOnRemote("src/app.js", "console.log('concurrent');\n");
    const head = git(source, ["rev-parse", "HEAD"]).trim();
    const [a, b] = await Promise.all([prepare(cacheDir), prepare(cacheDir)]);
    assert.equal(a.baseCommit, head);
    assert.equal(b.baseCommit, head);
    const mirror = await onlyMirror(cacheDir);
    git(mirror, ["fsck", "--full", "--no-dangling"]);
    assert.deepEqual(
      (await readdir(cacheDir)).filter((n) => n.includes(".building-")),
      [],
      "no leftover build",
    );
    for (const c of [a, b]) {
      assert.equal(await readFile(join(c.workspace, "src/app.js"), "utf8"), "console.log('concurrent');\n");
    }
  });

  it("rebuilds a mirror whose pack is corrupt", async () => {
    const cacheDir = join(root, "cache-corrupt");
    await prepare(cacheDir);
    const mirror = await onlyMirror(cacheDir);
    const pack = (await readdir(join(mirror, "objects", "pack"))).find((n) => n.endsWith(".pack")) ?? "";
    const packPath = join(mirror, "objects", "pack", pack);
    const size = (await lstat(packPath)).size;
    // Scribble over the objects, keeping the header and the trailer's length.
    const handle = await open(packPath, "r+");
    await handle.write(Buffer.alloc(size - 40, 0x5a), 0, size - 40, 12);
    await handle.close();
    assert.notEqual(
      (await tryGit(mirror, ["fsck", "--full"])).code,
      0,
      "the pack is corrupt before the prepare",
    );
    const checkout = await prepare(cacheDir);
    assert.equal(
      await readFile(join(checkout.workspace, "README.md"), "utf8"),
      await readFile(join(source, "README.md"), "utf8"),
    );
    git(await onlyMirror(cacheDir), ["fsck", "--full", "--no-dangling"]);
  });

  it("rebuilds a mirror when one blob of the base is corrupt (found while the files are written)", async () => {
    const cacheDir = join(root, "cache-corrupt-blob");
    await prepare(cacheDir);
    const mirror = await onlyMirror(cacheDir);
    const pack = (await readdir(join(mirror, "objects", "pack"))).find((n) => n.endsWith(".pack")) ?? "";
    const packPath = join(mirror, "objects", "pack", pack);
    const readme = git(source, ["rev-parse", "HEAD:README.md"]).trim();
    // `<oid> blob <size> <size in pack> <offset>`: scribble over that one blob's data only,
    // so the fetch (commits and trees) still works and only reading the files finds it.
    const line = git(mirror, ["verify-pack", "-v", packPath.replace(/\.pack$/, ".idx")])
      .split("\n")
      .find((l) => l.startsWith(`${readme} blob`));
    const [, , , inPack = "0", offset = "0"] = (line ?? "").split(/\s+/);
    const handle = await open(packPath, "r+");
    await handle.write(Buffer.alloc(Number(inPack) - 2, 0x5a), 0, Number(inPack) - 2, Number(offset) + 2);
    await handle.close();
    assert.equal(
      (await tryGit(mirror, ["fsck", "--connectivity-only"])).code,
      0,
      "the commits and trees are whole",
    );
    assert.notEqual((await tryGit(mirror, ["fsck", "--full"])).code, 0, "the blob is corrupt");
    const checkout = await prepare(cacheDir);
    assert.equal(
      await readFile(join(checkout.workspace, "README.md"), "utf8"),
      git(source, ["show", "HEAD:README.md"]),
    );
    git(await onlyMirror(cacheDir), ["fsck", "--full", "--no-dangling"]);
  });

  it("evicts the least recently used mirror past the size cap, but never one in use", async () => {
    const cacheDir = join(root, "cache-evict");
    createBareRemote(source, join(served, "other.git"));
    const other = `${server.url}/other.git`;
    const prepareOf = (url: string, maxMb: number) => {
      runs += 1;
      return prepareRunCheckout({
        repo: url,
        runId: `run_${runs}`,
        baseDir: join(root, `run-${runs}`),
        credentials,
        logger: silentLogger,
        mirrorCache: { dir: cacheDir, maxMb },
      });
    };
    const fromOther = await prepareOf(other, 1024);
    const otherMirror = await onlyMirror(cacheDir);
    const otherName = otherMirror.slice(cacheDir.length + 1);
    // Held by "another run": a cap of 0 cannot evict it.
    const held = await lockMirror(join(cacheDir, `${otherName}.lock`), { wait: true });
    await prepareOf(repo, 0);
    await held?.release();
    const mirrors = () => readdir(cacheDir).then((names) => names.filter((n) => n.endsWith(".git")).sort());
    assert.equal((await mirrors()).length, 2, "the busy mirror was kept");
    await prepareOf(repo, 0);
    const kept = await mirrors();
    assert.equal(kept.length, 1, "the idle, least recently used mirror was evicted");
    assert.notEqual(kept[0], otherName);
    // A run prepared from the evicted mirror keeps working: its host clone holds its own objects.
    git(fromOther.hostClone, ["fsck", "--full", "--no-dangling"]);
    assert.equal(
      git(fromOther.hostClone, ["show", "HEAD:README.md"]),
      git(source, ["show", "HEAD:README.md"]),
    );
  });

  it("recovers from a prepare killed mid-fetch: the lock is free and the half-built mirror is replaced", async () => {
    const cacheDir = join(root, "cache-killed");
    const held = server.holdUploadPacks();
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, "prepare-checkout-child.ts"),
        JSON.stringify({
          repo,
          runId: "run_killed",
          baseDir: join(root, "run-killed"),
          credentials,
          mirrorCache: { dir: cacheDir, maxMb: 1024 },
        }),
      ],
      { detached: true, stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = once(child, "exit");
    await held.arrived;
    const building = (await readdir(cacheDir)).filter((n) => n.includes(".building-"));
    assert.equal(building.length, 1, "the first build is under way");
    // The whole process group, as a killed container: node, git and the lock holder.
    process.kill(-(child.pid ?? 0), "SIGKILL");
    await exited;
    held.release();
    const checkout = await prepare(cacheDir);
    assert.equal(checkout.baseCommit, git(source, ["rev-parse", "HEAD"]).trim());
    const mirror = await onlyMirror(cacheDir);
    git(mirror, ["fsck", "--full", "--no-dangling"]);
    await lstat(join(mirror, mirrorCompleteMarker));
    assert.deepEqual(
      (await readdir(cacheDir)).filter((n) => n.includes(".building-")),
      [],
      "the killed build's folder is gone",
    );
  });
});
