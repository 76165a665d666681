// Times prepareRunCheckout and relayWorkspace on a generated repository:
// `node bench/git-relay.ts [files=20000] [bytes=2048]`. Prints JSON figures.
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { prepareRunCheckout } from "../runner/relay/prepare-run-checkout.ts";
import { relayWorkspace } from "../runner/relay/relay-workspace.ts";

const files = Number(process.argv[2] ?? 20000);
const bytes = Number(process.argv[3] ?? 2048);
const logger = pino({ level: "silent" });
const root = await mkdtemp(join(tmpdir(), "airlock-bench-relay-"));
const env = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "b",
  GIT_AUTHOR_EMAIL: "b@example.com",
  GIT_COMMITTER_NAME: "b",
  GIT_COMMITTER_EMAIL: "b@example.com",
};
const git = (args: string[]) =>
  execFileSync("git", ["-c", "gc.auto=0", ...args], { cwd: join(root, "source"), env });
try {
  for (let i = 0; i < files; i += 1) {
    const dir = join(root, "source", `d${i % 200}`);
    if (i < 200) await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `${i}\n`.padEnd(bytes, "x"));
  }
  git(["init", "--quiet"]);
  git(["add", "--all"]);
  git(["commit", "--quiet", "-m", "bench"]);
  const policy = {
    allowWorkflowChanges: false,
    maxFiles: 1000,
    maxFileBytes: 1 << 20,
    maxTotalBytes: 1 << 26,
  };
  const figures: Record<string, number> = { files, bytes };
  for (const init of [false, true]) {
    const baseDir = join(root, `run-${init}`);
    let started = performance.now();
    const checkout = await prepareRunCheckout({
      repo: join(root, "source"),
      runId: "bench",
      baseDir,
      logger,
      initWorkspaceGit: init,
    });
    figures[init ? "prepareWithWorkspaceGitMs" : "prepareMs"] = Math.round(performance.now() - started);
    if (init) continue;
    started = performance.now();
    await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "bench",
      branch: "airlock/none",
      message: { subject: "none", body: "" },
      trailers: { "Airlock-Run": "bench" },
      policy,
      logger,
    });
    figures.relayUnchangedMs = Math.round(performance.now() - started);
    for (let i = 0; i < 10; i += 1)
      await writeFile(join(checkout.workspace, `d${i}`, `f${i}.txt`), "changed\n");
    for (let i = 0; i < 10; i += 1) await writeFile(join(checkout.workspace, `new${i}.txt`), "new\n");
    started = performance.now();
    const result = await relayWorkspace({
      hostClone: checkout.hostClone,
      workspace: checkout.workspace,
      runId: "bench",
      branch: "airlock/twenty",
      message: { subject: "twenty", body: "" },
      trailers: { "Airlock-Run": "bench" },
      policy,
      logger,
    });
    figures.relayTwentyChangesMs = Math.round(performance.now() - started);
    figures.changed = result.filesChanged.length;
  }
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await rm(root, { recursive: true, force: true, maxRetries: 3 });
}
