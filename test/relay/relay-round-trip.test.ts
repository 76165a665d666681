import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, lstat, readFile, rm, stat, unlink, writeFile, mkdir, access } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { prepareRunCheckout } from "../../runner/relay/prepare-run-checkout.ts";
import { pushBranch } from "../../runner/relay/push-branch.ts";
import { relayWorkspace } from "../../runner/relay/relay-workspace.ts";
import { removeRunCheckout } from "../../runner/relay/remove-run-checkout.ts";
import { RelayError } from "../../runner/relay/relay-error.ts";
import { createBareRemote, createSourceRepo, git, listTree } from "../helpers/git-repo.ts";
import { defaultPolicy, makeTempDir, removeDir, silentLogger } from "./relay-fixture.ts";

const sourceFiles = {
  "README.md": "# Demo\n",
  "src/app.js": "console.log('v1');\n",
  "src/util.js": "export const x = 1;\n",
  "docs/old.md": "to be deleted\n",
  "scripts/build.sh": { content: "#!/bin/sh\necho build\n", executable: true },
  // export-ignore must not make the workspace differ from the commit (it would look deleted).
  ".gitattributes": "docs/kept.md export-ignore\nVERSION export-subst\n",
  "docs/kept.md": "kept\n",
  VERSION: "$Format:%H$\n",
};

async function changeWorkspace(workspace: string): Promise<void> {
  await writeFile(join(workspace, "README.md"), "# Demo\n\nEdited by the agent.\n");
  await writeFile(join(workspace, "src/app.js"), "console.log('v2');\n");
  await writeFile(join(workspace, "src/new.js"), "export const added = true;\n");
  await unlink(join(workspace, "docs/old.md"));
  await writeFile(join(workspace, "scripts/run.sh"), "#!/bin/sh\necho run\n");
  await chmod(join(workspace, "scripts/run.sh"), 0o755);
  // Airlock's own task file is never relayed.
  await mkdir(join(workspace, ".airlock"));
  await writeFile(join(workspace, ".airlock/task.md"), "untrusted task\n");
}

describe("git relay round trip", () => {
  let root: string;
  let source: string;

  before(async () => {
    root = await makeTempDir("round-trip");
    source = await createSourceRepo(join(root, "source"), sourceFiles);
  });

  after(async () => {
    await removeDir(root);
  });

  for (const remoteKind of ["bare", "non-bare"] as const) {
    it(`lands exactly the workspace's changes on the branch of a ${remoteKind} local repository`, async () => {
      const remote = remoteKind === "bare" ? createBareRemote(source, join(root, "remote.git")) : source;
      const baseDir = join(root, `run-${remoteKind}`);
      const runId = `run_${remoteKind}`;
      const checkout = await prepareRunCheckout({ repo: remote, runId, baseDir, logger: silentLogger });
      assert.equal(checkout.defaultBranch, "main");
      assert.equal(checkout.baseCommit, git(source, ["rev-parse", "HEAD"]).trim());
      assert.equal(checkout.workspace, join(baseDir, "workspace"));

      // The workspace is the commit byte for byte, owned by the sandbox user, with no host .git.
      assert.equal(await readFile(join(checkout.workspace, "docs/kept.md"), "utf8"), "kept\n");
      assert.equal(await readFile(join(checkout.workspace, "VERSION"), "utf8"), "$Format:%H$\n");
      assert.equal((await stat(join(checkout.workspace, "scripts/build.sh"))).mode & 0o111, 0o111);
      assert.equal((await stat(join(checkout.workspace, "src/app.js"))).uid, 1001);
      assert.equal((await stat(checkout.workspace)).gid, 1001);
      const throwaway = await readFile(join(checkout.workspace, ".git/config"), "utf8");
      assert.doesNotMatch(throwaway, /url =|remote/);
      assert.match(await readFile(join(checkout.workspace, ".git/HEAD"), "utf8"), /^ref: refs\/heads\/main/);

      await changeWorkspace(checkout.workspace);
      const branch = `airlock/${runId}`;
      const result = await relayWorkspace({
        hostClone: checkout.hostClone,
        workspace: checkout.workspace,
        runId,
        branch,
        message: { subject: "Fix the demo", body: "Edited README and app.\nAdded new.js and run.sh." },
        trailers: { "Airlock-Run": runId, "Airlock-Audit": "ab".repeat(32) },
        policy: defaultPolicy,
        logger: silentLogger,
      });
      assert.ok(result.commit);
      assert.deepEqual(result.filesChanged, [
        { path: "README.md", change: "modified" },
        { path: "docs/old.md", change: "deleted" },
        { path: "scripts/run.sh", change: "added" },
        { path: "src/app.js", change: "modified" },
        { path: "src/new.js", change: "added" },
      ]);
      assert.deepEqual(result.heldBack, []);
      assert.deepEqual(result.refused, []);

      const pushed = await pushBranch({
        hostClone: checkout.hostClone,
        remote,
        branch,
        logger: silentLogger,
      });
      assert.deepEqual(pushed, { remoteRef: `refs/heads/${branch}`, commit: result.commit });
      assert.equal(git(remote, ["rev-parse", `refs/heads/${branch}`]).trim(), result.commit);

      const diff = git(remote, ["diff", "--name-status", checkout.baseCommit, result.commit]);
      assert.equal(diff, "M\tREADME.md\nD\tdocs/old.md\nA\tscripts/run.sh\nM\tsrc/app.js\nA\tsrc/new.js\n");
      const tree = listTree(remote, result.commit);
      assert.equal(tree.get("scripts/run.sh")?.mode, "100755");
      assert.equal(tree.get("src/new.js")?.mode, "100644");
      assert.equal(tree.get("scripts/build.sh")?.mode, "100755");
      assert.equal(git(remote, ["show", `${result.commit}:src/app.js`]), "console.log('v2');\n");
      assert.equal(git(remote, ["rev-parse", `${result.commit}^`]).trim(), checkout.baseCommit);

      const message = git(remote, ["log", "-1", "--format=%B", result.commit]);
      assert.equal(
        message,
        `Fix the demo\n\nEdited README and app.\nAdded new.js and run.sh.\n\nAirlock-Run: ${runId}\nAirlock-Audit: ${"ab".repeat(32)}\n\n`,
      );
      const trailers = git(remote, ["log", "-1", "--format=%(trailers:only,unfold)", result.commit]);
      assert.equal(trailers, `Airlock-Run: ${runId}\nAirlock-Audit: ${"ab".repeat(32)}\n\n`);
      assert.equal(
        git(remote, ["log", "-1", "--format=%an <%ae>|%cn <%ce>", result.commit]).trim(),
        "Airlock <airlock@users.noreply.github.com>|Airlock <airlock@users.noreply.github.com>",
      );
      // The remote's checked-out branch is untouched.
      assert.equal(git(remote, ["rev-parse", "refs/heads/main"]).trim(), checkout.baseCommit);

      await removeRunCheckout(baseDir);
      await assert.rejects(access(baseDir));
      if (remoteKind === "bare") await rm(remote, { recursive: true, force: true });
    });
  }

  it("replaces a file by a directory and back, and relays a mode-only change", async () => {
    const baseDir = join(root, "run-shapes");
    const checkout = await prepareRunCheckout({
      repo: source,
      runId: "run_shapes",
      baseDir,
      logger: silentLogger,
    });
    const ws = checkout.workspace;
    await rm(join(ws, "README.md"));
    await mkdir(join(ws, "README.md"));
    await writeFile(join(ws, "README.md/index.md"), "now a folder\n");
    await rm(join(ws, "src"), { recursive: true });
    await writeFile(join(ws, "src"), "now a file\n");
    await chmod(join(ws, "docs/kept.md"), 0o755);
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: ws,
      runId: "run_shapes",
      branch: "airlock/run_shapes",
      message: { subject: "Reshape", body: "" },
      trailers: { "Airlock-Run": "run_shapes" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    assert.deepEqual(result.filesChanged, [
      { path: "README.md", change: "deleted" },
      { path: "README.md/index.md", change: "added" },
      { path: "docs/kept.md", change: "modified" },
      { path: "src", change: "added" },
      { path: "src/app.js", change: "deleted" },
      { path: "src/util.js", change: "deleted" },
    ]);
    const tree = listTree(checkout.hostClone, result.commit ?? "");
    assert.equal(tree.get("docs/kept.md")?.mode, "100755");
    assert.equal(tree.get("docs/kept.md")?.oid, git(source, ["rev-parse", "HEAD:docs/kept.md"]).trim());
    assert.equal(git(checkout.hostClone, ["cat-file", "blob", `${result.commit}:src`]), "now a file\n");
    assert.ok(!tree.has("README.md") && tree.has("README.md/index.md"));
    await removeRunCheckout(baseDir);
  });

  it("keeps submodules as they are and refuses files written into them", async () => {
    const withSubmodule = await createSourceRepo(join(root, "with-submodule"), { "README.md": "# Demo\n" });
    const pinned = git(withSubmodule, ["rev-parse", "HEAD"]).trim();
    git(withSubmodule, ["update-index", "--add", "--cacheinfo", `160000,${pinned},vendor/lib`]);
    git(withSubmodule, ["commit", "--quiet", "-m", "Add a submodule"]);
    const baseDir = join(root, "run-submodule");
    const checkout = await prepareRunCheckout({
      repo: withSubmodule,
      runId: "run_sub",
      baseDir,
      logger: silentLogger,
    });
    await writeFile(join(checkout.workspace, "vendor/lib/injected.js"), "evil\n");
    await writeFile(join(checkout.workspace, "README.md"), "# Demo 2\n");
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_sub",
      branch: "airlock/run_sub",
      message: { subject: "Edit", body: "" },
      trailers: { "Airlock-Run": "run_sub" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    assert.deepEqual(result.filesChanged, [{ path: "README.md", change: "modified" }]);
    assert.deepEqual(result.refused, [
      {
        path: "vendor/lib/injected.js",
        reason: "inside submodule vendor/lib, which the relay does not change",
      },
    ]);
    assert.deepEqual(listTree(checkout.hostClone, result.commit ?? "").get("vendor/lib"), {
      mode: "160000",
      oid: pinned,
    });
    await removeRunCheckout(baseDir);
  });

  it("clones from and pushes to a local repository owned by another user (the runner runs as root)", async () => {
    const foreign = await createSourceRepo(join(root, "foreign"), { "README.md": "# Theirs\n" });
    execFileSync("chown", ["-R", "1000:1000", foreign]);
    const baseDir = join(root, "run-foreign");
    const checkout = await prepareRunCheckout({
      repo: foreign,
      runId: "run_foreign",
      baseDir,
      logger: silentLogger,
    });
    assert.equal(await readFile(join(checkout.workspace, "README.md"), "utf8"), "# Theirs\n");
    await writeFile(join(checkout.workspace, "README.md"), "# Ours\n");
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_foreign",
      branch: "airlock/run_foreign",
      message: { subject: "Edit theirs", body: "" },
      trailers: { "Airlock-Run": "run_foreign" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    await pushBranch({
      hostClone: checkout.hostClone,
      remote: foreign,
      branch: "airlock/run_foreign",
      logger: silentLogger,
    });
    execFileSync("chown", ["-R", "0:0", foreign]);
    assert.equal(git(foreign, ["rev-parse", "refs/heads/airlock/run_foreign"]).trim(), result.commit);
    await removeRunCheckout(baseDir);
  });

  it("commits nothing when the workspace is unchanged, and honours a ref", async () => {
    git(source, ["tag", "v1"]);
    const baseDir = join(root, "run-unchanged");
    const checkout = await prepareRunCheckout({
      repo: source,
      runId: "run_same",
      baseDir,
      ref: "v1",
      logger: silentLogger,
    });
    assert.equal(checkout.baseCommit, git(source, ["rev-parse", "v1^{commit}"]).trim());
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "run_same",
      branch: "airlock/run_same",
      message: { subject: "Nothing", body: "" },
      trailers: { "Airlock-Run": "run_same" },
      policy: defaultPolicy,
      logger: silentLogger,
    });
    assert.equal(result.commit, undefined);
    assert.deepEqual(result.filesChanged, []);
    assert.equal(git(checkout.hostClone, ["branch", "--list", "airlock/run_same"]), "");
    await removeRunCheckout(baseDir);
  });

  it("refuses a bad ref, a non-empty run folder and removing a folder it did not make", async () => {
    const baseDir = join(root, "run-bad-ref");
    await assert.rejects(
      prepareRunCheckout({ repo: source, runId: "r", baseDir, ref: "no-such-branch", logger: silentLogger }),
      (error: unknown) => error instanceof RelayError && /no-such-branch/.test(error.message),
    );
    await assert.rejects(
      prepareRunCheckout({ repo: source, runId: "r", baseDir, logger: silentLogger }),
      (error: unknown) => error instanceof RelayError && /not empty/.test(error.message),
    );
    await removeRunCheckout(baseDir);
    const stranger = join(root, "not-a-run");
    await mkdir(stranger);
    await assert.rejects(removeRunCheckout(stranger), RelayError);
    assert.ok((await lstat(stranger)).isDirectory());
  });
});
