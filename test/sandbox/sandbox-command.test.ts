import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { listContainersByLabel, pickSandboxTestImage } from "./sandbox-test-image.ts";

const bin = fileURLToPath(new URL("../../bin/airlock.js", import.meta.url));
const { image, init } = pickSandboxTestImage();
const imageFlags = ["--image", image, ...(init ? ["--init"] : [])];

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `airlock sandbox exec`, as an operator runs it, with only what the CLI needs from the environment. */
function airlock(
  args: string[],
  options: { env?: Record<string, string>; onSpawn?: (pid: number) => void } = {},
): Promise<Finished> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** The container of a running `sandbox exec` process, found by the owner label it sets. */
async function waitForContainerOf(pid: number): Promise<string> {
  for (let i = 0; i < 200; i += 1) {
    const [id] = listContainersByLabel(`airlock.owner-pid=${pid}`);
    if (id) return id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no container appeared for pid ${pid}`);
}

describe("airlock sandbox exec (real Docker)", () => {
  it("streams the output and exits with the command's exit code", async () => {
    const result = await airlock([
      "sandbox",
      "exec",
      ...imageFlags,
      "--",
      "sh",
      "-c",
      "echo out; echo err >&2; exit 7",
    ]);
    assert.equal(result.code, 7);
    assert.equal(result.stdout, "out\n");
    assert.equal(result.stderr, "err\n");
  });

  it("passes arguments as an array, never through a host shell", async () => {
    const result = await airlock([
      "sandbox",
      "exec",
      ...imageFlags,
      "--",
      "echo",
      "$HOME; touch /tmp/pwned",
      "`id`",
    ]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "$HOME; touch /tmp/pwned `id`\n");
  });

  it("mounts --workspace read-write at /workspace", async () => {
    const dir = await mkdtemp(join(tmpdir(), "airlock-ws-"));
    try {
      const { chmod } = await import("node:fs/promises");
      await chmod(dir, 0o777);
      const result = await airlock([
        "sandbox",
        "exec",
        ...imageFlags,
        "--workspace",
        dir,
        "--",
        "sh",
        "-c",
        "pwd; echo hi > note",
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "/workspace\n");
      assert.equal(await readFile(join(dir, "note"), "utf8"), "hi\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a --workspace that does not exist instead of letting the engine create it", async () => {
    const missing = join(tmpdir(), `airlock-missing-${process.pid}-${Date.now()}`);
    const result = await airlock(["sandbox", "exec", ...imageFlags, "--workspace", missing, "--", "true"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--workspace ".*": must be an existing folder/);
    await assert.rejects(readFile(missing), { code: "ENOENT" });
  });

  it("rejects bad options with exit 2, naming each flag, and starts nothing", async () => {
    const result = await airlock(["sandbox", "exec", "--memory", "5x", "--timeout", "soon", "--", "true"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--memory "5x": must be a size with a unit/);
    assert.match(result.stderr, /--timeout "soon": must be a positive number/);
    const noCommand = await airlock(["sandbox", "exec"]);
    assert.equal(noCommand.code, 2);
    assert.match(noCommand.stderr, /missing required argument 'command'/);
  });

  it("says how to fix an unreachable Docker engine", async () => {
    const result = await airlock(["sandbox", "exec", "--", "true"], {
      env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" },
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /Is the Docker engine running and reachable \(DOCKER_HOST=unix:\/\/\/nonexistent/,
    );
  });

  it("exits 124 with a reason at the deadline", async () => {
    const result = await airlock([
      "sandbox",
      "exec",
      ...imageFlags,
      "--timeout",
      "1",
      "--",
      "sleep",
      "infinity",
    ]);
    assert.equal(result.code, 124);
    assert.match(result.stderr, /deadline of 1s/);
  });

  it("exits 125 when the output passes the cap", async () => {
    const result = await airlock(["sandbox", "exec", ...imageFlags, "--output-cap", "64k", "--", "yes"]);
    assert.equal(result.code, 125);
    assert.equal(result.stdout.length, 64 * 1024);
    assert.match(result.stderr, /output passed the cap of 65536 bytes/);
  });

  it("exits 137 when the command runs out of memory", async () => {
    const result = await airlock([
      "sandbox",
      "exec",
      ...imageFlags,
      "--memory",
      "32m",
      "--",
      "tail",
      "/dev/zero",
    ]);
    assert.equal(result.code, 137);
    assert.match(result.stderr, /ran out of memory \(limit 32 MiB\)/);
  });

  it("lowers a limit above the operator ceiling, with a warning", async () => {
    const result = await airlock(
      [
        "sandbox",
        "exec",
        ...imageFlags,
        "--memory",
        "8g",
        "--",
        "cat",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
      ],
      { env: { AIRLOCK_MAX_MEMORY_MB: "256" } },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /memoryMb lowered to the operator ceiling \(256\)/);
    assert.equal(result.stdout.trim(), String(256 * 1024 * 1024));
  });

  it("on SIGINT kills and removes the container, then exits 130", async () => {
    let pid = 0;
    const pending = airlock(["sandbox", "exec", ...imageFlags, "--", "sleep", "infinity"], {
      onSpawn: (p) => (pid = p),
    });
    await waitForContainerOf(pid);
    process.kill(pid, "SIGINT");
    const result = await pending;
    assert.equal(result.code, 130);
    assert.match(result.stderr, /cancelled by SIGINT; the sandbox was removed/);
    assert.deepEqual(listContainersByLabel(`airlock.owner-pid=${pid}`), []);
  });

  it("removes what a SIGKILLed predecessor left, at its next start", async () => {
    let pid = 0;
    const pending = airlock(["sandbox", "exec", ...imageFlags, "--", "sleep", "infinity"], {
      onSpawn: (p) => (pid = p),
    });
    await waitForContainerOf(pid);
    process.kill(pid, "SIGKILL");
    await pending;
    assert.equal(
      listContainersByLabel(`airlock.owner-pid=${pid}`).length,
      1,
      "the kill should leave a container",
    );
    const next = await airlock(["sandbox", "exec", ...imageFlags, "--", "true"]);
    assert.equal(next.code, 0);
    assert.deepEqual(listContainersByLabel(`airlock.owner-pid=${pid}`), []);
  });

  it("answers --help with the hardening, the limits and their ceilings", async () => {
    const result = await airlock(["sandbox", "exec", "--help"], { env: { AIRLOCK_MAX_MEMORY_MB: "2048" } });
    assert.equal(result.code, 0);
    for (const needle of [
      "read-only root filesystem",
      "all capabilities dropped",
      "no-new-privileges",
      "seccomp",
      "NetworkMode none",
      "no Docker socket",
      "no host environment",
      "noexec",
      "--memory      1024m → 2048m (AIRLOCK_MAX_MEMORY_MB)",
      "124 deadline",
    ]) {
      assert.ok(result.stdout.includes(needle), `help lacks ${needle}`);
    }
  });
});
